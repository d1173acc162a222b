"""``python -m deployer.lab.apiserver``: the lab's kube-apiserver (run by the kubelet stand-in)."""

from __future__ import annotations

import signal
import sys
import threading


def _entry() -> int:
    """Catch SIGTERM/SIGINT before the heavier imports, then run the stand-in.

    The real binary handles SIGTERM from its first moment, so a stop during startup still ends
    in a graceful shutdown (exit 0) instead of the default signal death.
    """
    shutdown = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: shutdown.set())
    from deployer.lab.apiserver.main import main

    return main(sys.argv[1:], shutdown=shutdown)


sys.exit(_entry())
