"""``TracingConfiguration``: the checks of ``--tracing-config-file`` at startup.

Follows k8s.io/component-base ``tracing/api/v1/config.go`` (identical v0.28.0..v0.37.0-beta.0;
``ValidateTracingConfiguration``:
``samplingRatePerMillion`` in 0..1000000, an OTLP gRPC endpoint whose scheme gRPC can resolve)
and k8s.io/apiserver ``pkg/server/options/tracing.go`` (up to 1.36 the file is refused while the
``APIServerTracing`` gate is off; the gate is locked on from 1.34).
"""

from __future__ import annotations

from deployer.companions.document import Context, Node
from deployer.companions.fielderrors import FieldError, FieldPath, invalid
from deployer.companions.gourl import GoURLError, parse_url

__all__ = ["validate_tracing"]

_MAX_RATE = 1_000_000


def _endpoint(endpoint: str) -> list[FieldError]:
    path = FieldPath(("endpoint",))
    if "//" not in endpoint:
        endpoint = "dns://" + endpoint
    try:
        url = parse_url(endpoint)
    except GoURLError as exc:
        return [invalid(path, endpoint, str(exc))]
    if url.scheme in ("dns", "unix", "unix-abstract"):
        return []
    detail = (
        f"unsupported scheme: {url.scheme}.  Options are none, dns, unix, or unix-abstract.  See "
        "https://github.com/grpc/grpc/blob/master/doc/naming.md"
    )
    return [invalid(path, endpoint, detail)]


def validate_tracing(doc: Node, ctx: Context) -> tuple[list[FieldError], list[str]]:
    """Return the field errors and the loader's own errors for ``ctx.minor``."""
    if not ctx.since("tracing_gate_check_removed") and not ctx.gate("APIServerTracing"):
        return [], ["APIServerTracing feature is not enabled, but tracing config file was provided"]
    errs = []
    if doc.has("samplingRatePerMillion"):
        rate = doc.raw("samplingRatePerMillion")
        path = FieldPath(("samplingRatePerMillion",))
        if isinstance(rate, int | float) and rate < 0:
            errs.append(invalid(path, int(rate), "sampling rate must be positive"))
        if isinstance(rate, int | float) and rate > _MAX_RATE:
            errs.append(
                invalid(
                    path,
                    int(rate),
                    "sampling rate per million must be less than or equal to one million",
                )
            )
    if doc.has("endpoint"):
        errs += _endpoint(doc.text("endpoint"))
    return errs, []
