"""Render kube-apiserver static pod manifests and check what was rendered.

Pure: no network, no clock, no randomness. The planner and the apply preflight reuse
:func:`referenced_files`, :func:`parse_manifest_command` and :func:`semantic_equal`.
"""

from __future__ import annotations

from deployer.render.check import (
    ManifestChecker,
    check_manifest,
    check_manifests,
    covering_mount,
    mount_points,
)
from deployer.render.fastload import PodLoader
from deployer.render.parse import (
    ManifestError,
    load_pod,
    manifest_argv,
    parse_flags,
    parse_manifest_command,
    semantic_equal,
)
from deployer.render.paths import ReferencedFile, referenced_files
from deployer.render.renderer import ManifestRenderer, render_manifest, render_manifests

__all__ = [
    "ManifestChecker",
    "ManifestError",
    "ManifestRenderer",
    "PodLoader",
    "ReferencedFile",
    "check_manifest",
    "check_manifests",
    "covering_mount",
    "load_pod",
    "manifest_argv",
    "mount_points",
    "parse_flags",
    "parse_manifest_command",
    "referenced_files",
    "render_manifest",
    "render_manifests",
    "semantic_equal",
]
