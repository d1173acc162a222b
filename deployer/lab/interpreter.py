"""How the lab's Python stand-ins are interpreted (the kubelet, and the apiserver it runs).

Why: a lab node's idle memory is mostly its two Python processes, and two interpreter settings
make them smaller without changing what they do (``bench/lab_memory.py``):

- ``-E``: none of the caller's ``PYTHON*`` variables, as for the containers (whose environment
  is ``PATH`` and the lab's own). ``PYTHONDONTWRITEBYTECODE`` in particular makes a process
  compile its modules from source at every start and keep the compiler's garbage;
- ``-OO`` (``PYTHONOPTIMIZE=2`` for the apiserver, whose command line stays
  ``python -m deployer.lab.apiserver``): no docstrings in memory (``assert`` is gone too; the
  stand-ins use none). 0.3 MB of the kubelet, 0.8 MB of the apiserver. Only where the ``-OO``
  bytecode can be cached (present, or the package's ``__pycache__`` writable): otherwise every
  start would compile from source, which costs more memory and time than the docstrings.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

__all__ = ["container_env", "standin_flags"]

#: The largest stand-in module, whose optimised bytecode tells whether ``-OO`` is cached.
_PROBE = Path(__file__).parent / "apiserver" / "main.py"


def _optimised_bytecode_cached(source: Path) -> bool:
    cached = Path(importlib.util.cache_from_source(str(source), optimization=2))
    if cached.exists():
        return True
    folder = cached.parent if cached.parent.exists() else source.parent
    return os.access(folder, os.W_OK)


def standin_flags() -> tuple[str, ...]:
    """The kubelet stand-in's flags between ``python`` and ``-m deployer.lab.kubelet``."""
    return ("-E", "-OO") if _optimised_bytecode_cached(_PROBE) else ("-E",)


def container_env() -> dict[str, str]:
    """What the kubelet stand-in adds to its containers' environment for the same effect."""
    return {"PYTHONOPTIMIZE": "2"} if _optimised_bytecode_cached(_PROBE) else {}
