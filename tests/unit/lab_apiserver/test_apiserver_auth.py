"""Who may read what: anonymous, client certificates and tokens, with the real Forbidden texts."""

from __future__ import annotations

import pytest

from deployer.lab.apiserver.auth import (
    ANONYMOUS,
    Identity,
    Request,
    authorize,
    identity_from_certificate,
    parse_token_file,
)

KUBEADM_MODES = ("Node", "RBAC")
ADMIN = Identity("kubernetes-admin", ("system:masters", "system:authenticated"))
BOB = Identity("bob", ("system:authenticated",))


def test_certificate_subject_maps_to_user_and_groups() -> None:
    peer = {
        "subject": (
            (("organizationName", "system:masters"),),
            (("commonName", "kubernetes-admin"),),
        )
    }
    assert identity_from_certificate(peer) == ADMIN
    assert identity_from_certificate(None) is None
    assert identity_from_certificate({}) is None


def test_token_file_rows_map_to_identities() -> None:
    tokens = parse_token_file('abc123,alice,1001,"dev,ops"\nxyz,bob,1002\n')
    assert tokens["abc123"] == Identity("alice", ("dev", "ops", "system:authenticated"))
    assert tokens["xyz"] == BOB


def test_token_file_rejects_short_rows() -> None:
    with pytest.raises(ValueError, match="line 1"):
        parse_token_file("only,two\n")


@pytest.mark.parametrize("path", ["/livez", "/readyz", "/healthz", "/version"])
def test_anonymous_may_read_public_info(path: str) -> None:
    assert authorize(ANONYMOUS, Request(path), KUBEADM_MODES).allowed


def test_anonymous_is_forbidden_elsewhere_with_the_real_message() -> None:
    decision = authorize(ANONYMOUS, Request("/api"), KUBEADM_MODES)
    assert not decision.allowed
    assert decision.message == 'forbidden: User "system:anonymous" cannot get path "/api"'


def test_anonymous_may_not_read_a_single_check() -> None:
    assert not authorize(ANONYMOUS, Request("/readyz/etcd"), KUBEADM_MODES).allowed


def test_authenticated_user_gets_discovery_but_not_resources() -> None:
    assert authorize(BOB, Request("/api"), KUBEADM_MODES).allowed
    assert authorize(BOB, Request("/api/v1"), KUBEADM_MODES).allowed
    decision = authorize(
        BOB, Request("/api/v1/componentstatuses", "list", "componentstatuses"), KUBEADM_MODES
    )
    assert decision.message == (
        'componentstatuses is forbidden: User "bob" cannot list resource "componentstatuses" '
        'in API group "" at the cluster scope'
    )


def test_masters_may_do_anything_under_rbac() -> None:
    request = Request("/api/v1/componentstatuses/etcd-0", "get", "componentstatuses", "etcd-0")
    assert authorize(ADMIN, request, KUBEADM_MODES).allowed
    assert authorize(ADMIN, Request("/metrics"), KUBEADM_MODES).allowed


def test_always_allow_and_always_deny() -> None:
    assert authorize(ANONYMOUS, Request("/api"), ("AlwaysAllow",)).allowed
    assert not authorize(ADMIN, Request("/version"), ("AlwaysDeny",)).allowed
