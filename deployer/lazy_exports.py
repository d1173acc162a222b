"""A package's public names, imported from their submodules on first use (PEP 562).

Why: ``deployer plan`` starts on every scheduled run, and a package ``__init__`` that imports
all it re-exports makes every importer of one submodule pay for the others (the metrics writer
pulled ``prometheus_client`` in, the companion validators ``cryptography.x509``). The names
stay importable from the package; each submodule loads when one of its names is first used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_getattr"]


def lazy_getattr(
    package: str, homes: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """Return the module ``__getattr__`` of ``package``: name -> its submodule in ``homes``.

    A name found is stored in ``namespace`` (the package's ``globals()``), so the hook runs
    once per name.
    """

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{home}"), name)
        namespace[name] = value
        return value

    return __getattr__
