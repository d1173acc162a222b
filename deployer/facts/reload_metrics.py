"""Read a file reload's evidence from kube-apiserver's ``/metrics`` (a pure parser).

The apiserver reloads some files by itself (the encryption configuration with
``--encryption-provider-config-automatic-reload``, the structured authentication and
authorization configurations). Evidence that it loaded the NEW content is a success counter
that grew past the value read before the write, and, where the version exposes one, the
``hash`` label of the ``..._last_config_info`` gauge naming that content.

What the hash label is computed from (kubernetes, staging/src/k8s.io/apiserver):
- authentication (and authorization) config: ``getHash(authConfigData)`` =
  ``"sha256:%x" % sha256(file bytes)`` (``RecordAuthenticationConfigLastConfigInfo``);
- encryption config: ``EncryptionFileContentHash`` = ``computeEncryptionConfigHash(data)`` of
  the file bytes, ``"%x" % sha256`` in older releases and ``"k8s:enc:unstable:1:%x"`` in newer
  ones ("no cross-release stability guarantees", server/options/encryptionconfig/config.go).
So a label names the content when it ENDS WITH the hex SHA-256 of the file's bytes; the prefix
is left to the version.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from deployer.model.files import ReloadEvidence

__all__ = ["ReloadReading", "names_content", "parse_reload"]


@dataclass(frozen=True, slots=True)
class ReloadReading:
    """One scrape's view of a reload."""

    #: Sum of the counter's samples with the evidence's labels; None when absent.
    count: float | None
    #: ``hash`` labels of the info gauge's samples (empty without an info metric).
    hashes: tuple[str, ...] = ()


def parse_reload(text: str, evidence: ReloadEvidence) -> ReloadReading:
    """Read the counter and the info gauge's hashes named by ``evidence``.

    Raises:
        ValueError: the text is not the Prometheus text format.
    """
    count: float | None = None
    hashes: list[str] = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name, labels = sample.name, sample.labels
            # prometheus_client strips a counter's ``_total`` from the family, not the sample.
            if name in (evidence.counter, evidence.counter + "_total") and all(
                labels.get(k) == v for k, v in evidence.labels.items()
            ):
                count = (count or 0.0) + float(sample.value)
            elif evidence.info_metric and name == evidence.info_metric and "hash" in labels:
                hashes.append(labels["hash"])
    return ReloadReading(count=count, hashes=tuple(hashes))


def names_content(label: str, sha256_hex: str) -> bool:
    """True when an info gauge's ``hash`` label names content of digest ``sha256_hex``."""
    return len(label) >= len(sha256_hex) and label.lower().endswith(sha256_hex.lower())
