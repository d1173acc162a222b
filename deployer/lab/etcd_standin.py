"""A minimal etcd for labs without the real one: ``/health`` and ``/version`` over mutual TLS.

Why so little: the apiserver stand-in's ``/readyz`` etcd check only asks etcd's ``/health``
with the apiserver-etcd-client certificate; the lab stores nothing in etcd.
"""

from __future__ import annotations

import argparse
import json
import signal
import ssl
import sys
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType

__all__ = ["main"]


class _Handler(BaseHTTPRequestHandler):
    server_version = "etcd"

    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/health":
            body = {"health": "true", "reason": ""}
        elif self.path.split("?")[0] == "/version":
            body = {"etcdserver": "3.5.15", "etcdcluster": "3.5.0"}
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        return


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM."""
    parser = argparse.ArgumentParser(prog="etcd-standin")
    parser.add_argument("--listen", required=True, help="ADDRESS:PORT")
    parser.add_argument("--cert-file", required=True)
    parser.add_argument("--key-file", required=True)
    parser.add_argument("--trusted-ca-file", required=True)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    host, port = args.listen.rsplit(":", 1)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert_file, args.key_file)
    context.load_verify_locations(args.trusted_ca_file)
    context.verify_mode = ssl.CERT_REQUIRED
    server = ThreadingHTTPServer((host, int(port)), _Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    sys.stderr.write(f"etcd stand-in serving https://{args.listen}\n")
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
