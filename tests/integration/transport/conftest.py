"""Fixtures for the SSH executor's integration tests (helpers live in ``ssh_fixtures``)."""

from __future__ import annotations

from ssh_fixtures import client_key, ssh_lab, sshd, tls_server

__all__ = ["client_key", "ssh_lab", "sshd", "tls_server"]
