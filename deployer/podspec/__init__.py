"""The v1.Pod as kubelet sees a static pod: API defaulting and field-level differences."""

from deployer.podspec.defaulting import default_pod, differences, image_tag, same_pod

__all__ = ["default_pod", "differences", "image_tag", "same_pod"]
