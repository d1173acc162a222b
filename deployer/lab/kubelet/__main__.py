"""``python -m deployer.lab.kubelet``: run one node's kubelet stand-in until SIGTERM.

SIGTERM or SIGINT stop kubelet only: the containers keep running, as they do when the real
kubelet is stopped, and the next kubelet adopts them. SIGUSR1 is a node shutdown: every
container is stopped first (kubelet's graceful node shutdown), then kubelet exits.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from deployer.lab.atomic import write_atomic
from deployer.lab.crictl.server import CriServer
from deployer.lab.interpreter import container_env
from deployer.lab.kubelet.sync import Kubelet, KubeletConfig
from deployer.lab.procs import process_record

#: Variables the lab sets on kubelet that every container must see as well.
_PASSED_ON = ("DEPLOYER_LAB_DIR", "DEPLOYER_LAB_SLOW_S")


class _KlogFormatter(logging.Formatter):
    """klog's header: ``Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg``."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%m%d %H:%M:%S", time.gmtime(record.created))
        micros = int((record.created % 1) * 1_000_000)
        return (
            f"{record.levelname[0]}{stamp}.{micros:06d} {os.getpid():>7} "
            f"{record.module}.go:{record.lineno}] {record.getMessage()}"
        )


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    # A fixed help width: without one argparse imports shutil for the terminal's size, and
    # shutil (with bz2, lzma, zlib) stays 0.6 MB in every idle kubelet stand-in.
    parser = argparse.ArgumentParser(
        prog="kubelet",
        description=__doc__,
        formatter_class=lambda prog: argparse.HelpFormatter(prog, width=100),
    )
    parser.add_argument("--node-name", required=True)
    parser.add_argument("--root", required=True, type=Path, help="the node folder (its /)")
    parser.add_argument("--time-scale", type=float, default=0.1)
    parser.add_argument("--poll-interval", type=float, default=0.2)
    parser.add_argument("--ready-delay", type=float, default=1.0)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the kubelet stand-in; return its exit status."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_KlogFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    root = args.root.resolve()
    env = {
        "DEPLOYER_LAB_NODE_ROOT": str(root),
        "DEPLOYER_LAB_NODE_NAME": args.node_name,
        "DEPLOYER_LAB_FAULTS": str(root / "lab/faults.json"),
        "DEPLOYER_LAB_READY_DELAY_S": f"{args.ready_delay:g}",
    }
    env.update({k: os.environ[k] for k in _PASSED_ON if k in os.environ})
    env.update(container_env())  # the apiserver as python -OO (deployer.lab.interpreter)
    config = KubeletConfig(
        node_name=args.node_name,
        root=root,
        python=sys.executable,
        time_scale=args.time_scale,
        poll_s=args.poll_interval,
        container_env=env,
    )
    stopping: list[int] = []
    draining: list[int] = []

    def _stop(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    def _drain(signum: int, _frame: FrameType | None) -> None:
        draining.append(signum)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGUSR1, _drain)
    log = logging.getLogger("kubelet")
    log.info('"Starting kubelet stand-in" node="%s" root="%s"', args.node_name, root)
    # For the node's kubelet check (the lab's `systemctl is-active kubelet`): pid + start time.
    pid_file = root / "run/kubelet.pid"
    own = process_record("kubelet", os.getpid())
    write_atomic(pid_file, f"{own.pid} {own.start_time}\n".encode())
    # containerd's socket, answered here: the compiled crictl's fast path (crictl/server.py).
    cri = CriServer(root, config.state_file)
    try:
        Kubelet(config).run(lambda: bool(stopping), lambda: bool(draining))
    finally:
        cri.close()
        pid_file.unlink(missing_ok=True)
    log.info('"Kubelet stopped; containers keep running"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
