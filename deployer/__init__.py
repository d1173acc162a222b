"""deployer: keep the kube-apiserver of Kubernetes control planes as the operator declared it."""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    """Compute ``__version__`` on first use.

    Why lazily: the lab's stand-ins (kubelet, crictl, kube-apiserver) import this package at
    every start, and reading the installed metadata costs tens of milliseconds each time.
    """
    if name != "__version__":
        raise AttributeError(name)
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("deployer")
    except PackageNotFoundError:  # a source tree that was not installed
        return "0.0.0+unknown"
