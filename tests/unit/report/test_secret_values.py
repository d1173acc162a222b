"""Masking by value: what counts as a secret value, and that every copy of it is hidden."""

from __future__ import annotations

import json

from deployer.errors import RolloutError
from deployer.model.host import Secret
from deployer.model.report import HostReport, Outcome, PhaseRecord, RunReport
from deployer.report.json_report import report_to_json
from deployer.report.secret_values import ValueMasker, mask_report, secret_values


def test_env_values_are_secret_whatever_they_look_like() -> None:
    found = secret_values(env={"KEY": "AKIAabc/def", "PIN": "98765432", "PATHISH": "/x/y/z"})
    assert found == {"AKIAabc/def", "98765432", "/x/y/z"}


def test_url_passwords_are_secret_in_any_flag_or_variable() -> None:
    found = secret_values(
        flags={"etcd-servers": "https://u:p%40ss-1@10.0.0.1:2379,https://10.0.0.2:2379"},
        host_vars={"proxy": "http://me:hunter22@proxy:3128"},
    )
    assert {"p%40ss-1", "p@ss-1", "hunter22"} <= found


def test_credential_flags_keep_paths_and_durations_but_not_digits() -> None:
    found = secret_values(
        flags={
            "token-auth-file": "/etc/kubernetes/tokens.csv",
            "service-account-max-token-expiration": "720h0m0s",
            "oidc-client-secret": "12345678",
        }
    )
    assert found == {"12345678"}


def test_secrets_in_host_vars_and_short_values() -> None:
    found = secret_values(host_vars={"ansible_become_password": Secret("s3cr3t-pw"), "x": "1"})
    assert found == {"s3cr3t-pw"}
    assert secret_values(env={"A": "abc"}) == frozenset()  # too short to mask by value


def test_masker_hides_every_copy_longest_first_and_json_escaped() -> None:
    mask = ValueMasker(["pass", 'pa"ss-long'])
    assert mask('x pa"ss-long y pass') == "x *** y ***"
    assert mask(json.dumps('pa"ss-long')) == '"***"'


def test_masked_report_hides_values_in_every_field() -> None:
    secret = "PLANTED-4242"
    host = HostReport(
        "cp1",
        Outcome.ROLLED_BACK,
        phases=(PhaseRecord("verify", False, 1.0, f"env {secret}"),),
        diff=f"+ value: {secret}\n",
        error=RolloutError(f"failed with {secret}", host="cp1", phase="verify", hint=secret),
        details=(("evidence", [f"log {secret}", {"nested": secret}]),),
    )
    report = RunReport("r1", "apply", 0.0, 1.0, (host,), 3)
    masked = mask_report(report, ValueMasker([secret]))
    assert secret not in report_to_json(masked)
    assert isinstance(masked.hosts[0].error, RolloutError)
    assert secret in report_to_json(report), "the original is left as it was"
