"""``AdmissionConfiguration``: what ``--admission-control-config-file`` checks at startup.

k8s.io/apiserver ``pkg/admission/config.go`` (``ReadAdmissionConfiguration``) only decodes the
file (strictly) and resolves relative plugin paths against the file's directory; a plugin's own
configuration is read later by the plugin (``GetAdmissionPluginConfigurationFor`` takes the first
entry of that name, ``path`` before ``configuration``). So nothing here is fatal beyond decoding;
the warnings name what the binary would silently ignore. The plugins' own configuration formats
(``EventRateLimit``, ``PodSecurity`` ...) are not validated.
"""

from __future__ import annotations

from collections.abc import Collection

from deployer.companions.document import Node
from deployer.companions.fielderrors import FieldPath

__all__ = ["LEGACY_KEYS", "admission_warnings"]

#: Top-level keys of the two unversioned legacy formats the loader still tolerates.
LEGACY_KEYS = ("imagePolicy", "podNodeSelectorPluginConfig")


def admission_warnings(doc: Node, known_plugins: Collection[str] = ()) -> list[str]:
    """Return warnings for entries kube-apiserver would ignore or resolve unexpectedly."""
    warnings = []
    seen: set[str] = set()
    root = FieldPath(("plugins",))
    for i, plugin in enumerate(doc.nodes("plugins")):
        path = root.index(i)
        name = plugin.text("name")
        if not name:
            warnings.append(f"{path.child('name')}: empty: no plugin reads this entry")
        elif name in seen:
            warnings.append(f"{path.child('name')}: {name} again: only its first entry is read")
        elif known_plugins and name not in known_plugins:
            warnings.append(
                f"{path.child('name')}: {name} is not an admission plugin of this version"
            )
        seen.add(name)
        if plugin.text("path") and plugin.has("configuration"):
            warnings.append(
                f"{path}: both path and configuration: the path is read, the configuration ignored"
            )
        path_value = plugin.text("path")
        if path_value and not path_value.startswith("/"):
            warnings.append(
                f"{path.child('path')}: {path_value} is relative: resolved against the "
                "directory of the admission configuration file on the node"
            )
    return warnings
