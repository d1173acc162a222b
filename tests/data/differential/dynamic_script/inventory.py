#!/usr/bin/env python3
"""An executable inventory script, as Ansible runs it (--list prints JSON with _meta)."""

import json
import sys

INVENTORY = {
    "_meta": {
        "hostvars": {
            "cp1": {"ansible_host": "192.0.2.31", "apiserver_flags": {"v": 2}},
            "cp2": {"ansible_host": "192.0.2.32"},
        }
    },
    "all": {"vars": {"kubernetes_version": "1.31"}, "children": ["control_plane", "etcd"]},
    "control_plane": {"hosts": ["cp1", "cp2"], "vars": {"serial": 1}},
    "etcd": {"hosts": ["cp2", "cp3"]},
}

if __name__ == "__main__":
    if sys.argv[1:] == ["--list"]:
        json.dump(INVENTORY, sys.stdout)
    else:
        json.dump({}, sys.stdout)
