"""Reload evidence read from ``/metrics`` text in the shapes kube-apiserver exposes."""

from __future__ import annotations

import hashlib

import pytest

from deployer.facts.reload_metrics import names_content, parse_reload
from deployer.model.files import ReloadEvidence

CONTENT = b"apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n"
DIGEST = hashlib.sha256(CONTENT).hexdigest()
# The shape of k8s.io/apiserver's encryptionconfig metrics test (one apiserver identity).
TEXT = f"""# HELP apiserver_encryption_config_controller_automatic_reloads_total [ALPHA] Total number of reload successes and failures of encryption configuration split by apiserver identity.
# TYPE apiserver_encryption_config_controller_automatic_reloads_total counter
apiserver_encryption_config_controller_automatic_reloads_total{{apiserver_id_hash="sha256:14f9",status="success"}} 2
apiserver_encryption_config_controller_automatic_reloads_total{{apiserver_id_hash="sha256:14f9",status="failure"}} 5
# HELP apiserver_encryption_config_controller_last_config_info [ALPHA] Information about the last applied encryption configuration with hash as label, split by apiserver identity.
# TYPE apiserver_encryption_config_controller_last_config_info gauge
apiserver_encryption_config_controller_last_config_info{{apiserver_id_hash="sha256:14f9",hash="k8s:enc:unstable:1:{DIGEST}"}} 1
"""  # noqa: E501 - upstream's help lines
EVIDENCE = ReloadEvidence(
    counter="apiserver_encryption_config_controller_automatic_reloads_total",
    labels={"status": "success"},
    info_metric="apiserver_encryption_config_controller_last_config_info",
)


def test_counter_counts_only_the_labelled_samples_and_hashes_are_read() -> None:
    reading = parse_reload(TEXT, EVIDENCE)
    assert reading.count == 2.0
    assert reading.hashes == (f"k8s:enc:unstable:1:{DIGEST}",)


def test_absent_counter_reads_as_none() -> None:
    assert parse_reload("# TYPE x counter\nx_total 1\n", EVIDENCE).count is None


@pytest.mark.parametrize(
    ("label", "names"),
    [
        (f"sha256:{DIGEST}", True),  # authentication/authorization config: getHash(data)
        (DIGEST, True),  # encryption config before the versioned prefix
        (f"k8s:enc:unstable:1:{DIGEST}", True),  # encryption config, newer releases
        (f"sha256:{DIGEST[:-1]}0" if DIGEST[-1] != "0" else f"sha256:{DIGEST[:-1]}1", False),
        ("sha256:", False),
    ],
)
def test_hash_label_names_content_by_its_sha256_suffix(label: str, names: bool) -> None:
    assert names_content(label, DIGEST) is names


def test_not_prometheus_text_is_an_error() -> None:
    with pytest.raises(ValueError, match="Invalid"):
        parse_reload("{not metrics", EVIDENCE)
