"""The SSH floors of ``bench/plan.py``: the least a tool can do over paramiko, two ways.

Usage: python bench/floor.py HOSTS.json

HOSTS.json is a list of ``{address, port, user, key_file, known_hosts, manifest}``. Every host
at once, one thread and one connection each, host keys checked against the inventory's
known_hosts file, no agent. Run as a process of its own, so that its figure, like ``deployer
plan``'s, includes the interpreter's start-up and paramiko's import. Imports nothing of
deployer.

- **check** (a host without ``command``): ``sha256sum <manifest>``, the least a tool can do to
  check one file on every host over SSH. This is the floor the issue's ratio is taken to.
- **work** (a host with ``command`` and ``probe``): the remote work ``deployer plan`` asks of a
  host, done with nothing around it. ``command`` is the plan's observation command line
  exactly (its processes on the host: the shell, sha256sum, stat, crictl twice, the kubelet
  check) and ``probe`` is ``{address, port, ca_file}``: ``GET /readyz?verbose`` over TLS
  verified against that CA, through a ``direct-tcpip`` channel of the same connection, in a
  thread of its own started with the command. What is left between this and plan is deployer's
  own code: inventory, rendering, parsing, planning, output.
"""

from __future__ import annotations

import json
import ssl
import sys
import threading

import paramiko


def _readyz(transport: paramiko.Transport, probe: dict[str, object]) -> int:
    """One verified HTTPS GET through a direct-tcpip channel; the HTTP status."""
    address, port = str(probe["address"]), int(str(probe["port"]))
    context = ssl.create_default_context(cafile=str(probe["ca_file"]))
    channel = transport.open_channel("direct-tcpip", (address, port), ("127.0.0.1", 0))
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=address)

    def pump_out() -> None:
        data = outgoing.read()
        if data:
            channel.sendall(data)

    def pump_in() -> None:
        data = channel.recv(65536)
        if data:
            incoming.write(data)
        else:
            incoming.write_eof()

    try:
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                pump_out()
                pump_in()
        tls.write(
            f"GET /readyz?verbose HTTP/1.1\r\nHost: {address}:{port}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        pump_out()
        answer = bytearray()
        while True:
            try:
                data = tls.read(65536)
            except ssl.SSLWantReadError:
                pump_out()
                if incoming.eof:
                    break
                pump_in()
                continue
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                break
            if not data:
                break
            answer += data
        return int(answer.split(b" ", 2)[1])
    finally:
        channel.close()


def check(host: dict[str, object]) -> str:
    client = paramiko.SSHClient()
    try:
        client.load_host_keys(str(host["known_hosts"]))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect(
            str(host["address"]),
            port=int(str(host["port"])),
            username=str(host["user"]),
            key_filename=str(host["key_file"]),
            look_for_keys=False,
            allow_agent=False,
            timeout=10,
            banner_timeout=10,
            auth_timeout=10,
        )
        transport = client.get_transport()
        assert transport is not None
        probe = host.get("probe")
        status: list[int | BaseException] = []
        prober = None
        if isinstance(probe, dict):

            def run_probe() -> None:
                try:
                    status.append(_readyz(transport, probe))
                except BaseException as exc:  # reported below
                    status.append(exc)

            prober = threading.Thread(target=run_probe)
            prober.start()
        command = host.get("command") or f"sha256sum {host['manifest']}"
        # stdin from /dev/null and no EOF sent, as deployer runs a command without input:
        # paramiko's EOF can follow the channel's CLOSE, and OpenSSH then drops the connection.
        channel = transport.open_session(timeout=10)
        channel.settimeout(30)
        channel.exec_command(f"exec {command} </dev/null")  # exec: no fork for the redirect
        out = channel.makefile("rb").read().decode()
        if channel.recv_exit_status() != 0:
            raise RuntimeError(f"{str(command)[:40]!r} failed on {host['address']}")
        channel.close()
        if prober is not None:
            prober.join()
            if status != [200]:
                raise RuntimeError(f"/readyz on {host['address']}: {status}")
        if "command" in host:
            if "@@deployer:end" not in out:
                raise RuntimeError(f"the observation did not finish on {host['address']}")
            return "work"
        return out.split()[0]
    finally:
        client.close()


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as handle:
        hosts = json.load(handle)
    results: list[str | BaseException] = [""] * len(hosts)

    def work(i: int) -> None:
        try:
            results[i] = check(hosts[i])
        except BaseException as exc:  # reported below
            results[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(hosts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failed = [
        r for r in results if isinstance(r, BaseException) or r not in ("work",) and len(r) != 64
    ]
    if failed:
        print(f"floor failed on {len(failed)} host(s): {failed[0]!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
