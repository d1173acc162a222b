"""The SSH floor of ``bench/plan.py``: one paramiko connection per host and ``sha256sum``.

Usage: python bench/floor.py HOSTS.json

HOSTS.json is a list of ``{address, port, user, key_file, known_hosts, manifest}``. Every host
at once, one thread and one connection each, host keys checked against the inventory's
known_hosts file, no agent: the least a tool can do to check one file on every host over SSH.
Run as a process of its own, so that its figure, like ``deployer plan``'s, includes the
interpreter's start-up and paramiko's import. Imports nothing of deployer.
"""

from __future__ import annotations

import json
import sys
import threading

import paramiko


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
        _, stdout, _ = client.exec_command(f"sha256sum {host['manifest']}", timeout=30)
        out = stdout.read().decode()
        if stdout.channel.recv_exit_status() != 0:
            raise RuntimeError(f"sha256sum failed on {host['address']}")
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
    failed = [r for r in results if isinstance(r, BaseException) or len(r) != 64]
    if failed:
        print(f"floor failed on {len(failed)} host(s): {failed[0]!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
