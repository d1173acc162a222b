"""A copy of the production example inventory with companion files added, for these tests."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

from deployer.offline import Prepared, prepare

PRODUCTION = Path(__file__).resolve().parents[3] / "inventories" / "production"


def inventory(tmp_path: Path, files: Mapping[str, str]) -> Path:
    """Copy the production inventory to ``tmp_path/inv`` and write ``files`` relative to it.

    A file name ending in ``+`` is appended to (``group_vars/control_plane.yml+``).
    """
    root = tmp_path / "inv"
    shutil.copytree(PRODUCTION, root)
    for name, text in files.items():
        append = name.endswith("+")
        path = root / name.rstrip("+")
        path.parent.mkdir(parents=True, exist_ok=True)
        if append:
            with path.open("a", encoding="utf-8") as handle:
                handle.write("\n" + text)
        else:
            path.write_text(text, encoding="utf-8")
    return root


def prepared(tmp_path: Path, files: Mapping[str, str], **kwargs: object) -> Prepared:
    """Load, validate and render the inventory of :func:`inventory`."""
    return prepare([inventory(tmp_path, files)], **kwargs)  # type: ignore[arg-type]


POLICY = """
apiserver_files:
  - path: /etc/kubernetes/audit/policy.yaml
    content:
      apiVersion: audit.k8s.io/v1
      kind: Policy
      rules:
        - level: Metadata
"""
