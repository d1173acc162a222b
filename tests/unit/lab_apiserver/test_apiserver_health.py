"""The health endpoints' lines, status codes and exclusions, as k8s.io/apiserver's healthz.go."""

from __future__ import annotations

from deployer.lab.apiserver.health import HealthCheck, check_names, evaluate_root, evaluate_single


def _ok() -> None:
    return None


def _etcd_down() -> str:
    return "error getting data from etcd: dial tcp 127.0.10.1:2379: connect: connection refused"


CHECKS = [HealthCheck("ping", _ok), HealthCheck("etcd", _ok), HealthCheck("shutdown", _ok)]


def test_healthy_without_verbose_is_a_bare_ok() -> None:
    reply = evaluate_root("readyz", CHECKS, {})
    assert (reply.status, reply.body) == (200, "ok")


def test_verbose_lists_each_check_then_passed_line() -> None:
    reply = evaluate_root("readyz", CHECKS, {"verbose": [""]})
    assert reply.status == 200
    assert reply.body == "[+]ping ok\n[+]etcd ok\n[+]shutdown ok\nreadyz check passed\n"


def test_failure_is_always_verbose_withholds_the_reason_and_answers_500() -> None:
    checks = [HealthCheck("ping", _ok), HealthCheck("etcd", _etcd_down)]
    reply = evaluate_root("livez", checks, {})
    assert reply.status == 500
    assert reply.body == "[+]ping ok\n[-]etcd failed: reason withheld\nlivez check failed\n"
    assert reply.failed == ("etcd",)
    assert "connection refused" in reply.failed_detail


def test_excluded_check_is_not_run_and_reported_as_excluded_ok() -> None:
    checks = [HealthCheck("ping", _ok), HealthCheck("etcd", _etcd_down)]
    reply = evaluate_root("readyz", checks, {"exclude": ["etcd"], "verbose": [""]})
    assert reply.status == 200
    assert reply.body == "[+]ping ok\n[+]etcd excluded: ok\nreadyz check passed\n"


def test_unknown_excludes_get_the_warn_line_sorted_and_quoted() -> None:
    reply = evaluate_root("readyz", CHECKS, {"exclude": ["zzz", "aaa"], "verbose": [""]})
    assert reply.body.splitlines()[-2] == (
        'warn: some health checks cannot be excluded: no matches for "aaa","zzz"'
    )
    assert reply.unmatched_excludes == ("aaa", "zzz")


def test_single_check_endpoint_shows_the_reason() -> None:
    reply = evaluate_single(HealthCheck("etcd", _etcd_down))
    assert reply.status == 500
    assert reply.body.startswith("internal server error: error getting data from etcd")
    assert evaluate_single(HealthCheck("ping", _ok)).body == "ok"


def test_readyz_has_readiness_only_checks_in_real_order() -> None:
    names = check_names("readyz", 31)
    assert names[:5] == ("ping", "log", "etcd", "etcd-readiness", "informer-sync")
    assert names[-1] == "shutdown"
    assert names.index("poststarthook/kube-apiserver-autoregistration") + 1 == names.index(
        "autoregister-completion"
    )
    livez = check_names("livez", 31)
    assert "shutdown" not in livez
    assert "etcd-readiness" not in livez


def test_first_sync_hook_exists_from_1_31_only() -> None:
    assert "poststarthook/apiservice-wait-for-first-sync" in check_names("readyz", 31)
    assert "poststarthook/apiservice-wait-for-first-sync" not in check_names("readyz", 30)
