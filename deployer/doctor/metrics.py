"""``/metrics`` at a glance: request rate and 5xx share, etcd latency, inflight, a sparkline.

Why a few scrapes: ``apiserver_request_total`` is a counter, so a rate needs two readings; a
handful taken a moment apart give both the rate and a sparkline of it, which is the picture an
operator would otherwise build in a dashboard. The figures come from
:func:`deployer.facts.metrics.parse_metrics`, which verify uses too.
"""

from __future__ import annotations

from collections.abc import Sequence

from deployer.doctor.model import Check, Verdict
from deployer.doctor.subject import Subject
from deployer.errors import DeployerError
from deployer.facts.metrics import MetricsSnapshot, parse_metrics

__all__ = ["check_metrics", "scrape", "sparkline"]

_GROUP = "metrics"
_BARS = "▁▂▃▄▅▆▇█"
#: A 5xx share above this is a warning (1 in 20 requests failing on the server side).
_MAX_5XX_SHARE = 0.05


def sparkline(values: Sequence[float]) -> str:
    """One bar per value, scaled to the largest (``▁▃█``)."""
    top = max(values, default=0.0)
    if top <= 0:
        return _BARS[0] * len(values)
    return "".join(_BARS[min(len(_BARS) - 1, int(v / top * (len(_BARS) - 1)))] for v in values)


def scrape(subject: Subject) -> tuple[MetricsSnapshot, float]:
    """One authenticated ``GET /metrics``; the snapshot and the clock reading.

    Raises:
        DeployerError: the request failed or the answer is not 200.
        ValueError: the answer does not parse.
    """
    response = subject.get("/metrics")
    if response.status != 200:
        raise DeployerError(f"/metrics answered HTTP {response.status}")
    return parse_metrics(response.body.decode("utf-8", "replace")), subject.ctx.clock.monotonic()


def _table(snapshot: MetricsSnapshot) -> tuple[str, ...]:
    top = sorted(snapshot.by_request.items(), key=lambda item: -item[1])[:5]
    rows = [f"{'verb':<8} {'resource':<20} {'code':<5} {'count':>8}"]
    rows += [f"{v or '-':<8} {r or '-':<20} {c:<5} {n:>8.0f}" for (v, r, c), n in top]
    return tuple(rows)


def check_metrics(
    subject: Subject, *, samples: int = 4, interval_s: float = 0.5
) -> tuple[Check, ...]:
    """Scrape ``samples`` times, ``interval_s`` apart, and summarise."""
    if subject.creds is None:
        return (
            Check(_GROUP, "metrics", Verdict.SKIP, f"no admin credentials ({subject.creds_error})"),
        )
    readings: list[tuple[MetricsSnapshot, float]] = []
    try:
        for index in range(max(2, samples)):
            if index:
                subject.ctx.clock.sleep(interval_s)
            readings.append(scrape(subject))
    except DeployerError as exc:
        return (
            Check(
                _GROUP,
                "metrics",
                Verdict.FAIL,
                f"/metrics: {exc.message}",
                "see the apiserver checks",
            ),
        )
    except ValueError as exc:
        return (Check(_GROUP, "metrics", Verdict.FAIL, f"/metrics does not parse: {exc}"),)
    last = readings[-1][0]
    if last.requests_total is None:
        return (
            Check(
                _GROUP,
                "metrics",
                Verdict.FAIL,
                "/metrics has no apiserver_request_total",
                "the apiserver serves no requests; see the apiserver checks",
            ),
        )
    rates = []
    for (before, t0), (after, t1) in zip(readings, readings[1:], strict=False):
        elapsed = max(t1 - t0, 1e-6)
        rates.append(
            max(0.0, ((after.requests_total or 0.0) - (before.requests_total or 0.0)) / elapsed)
        )
    rate = sum(rates) / len(rates)
    first = readings[0][0]
    served = last.requests_total - (first.requests_total or 0.0)
    # The share while doctor watched: a startup's 5xx answers (readyz before ready) are history.
    share = (last.requests_5xx - first.requests_5xx) / served if served > 0 else 0.0
    lifetime = last.requests_5xx / last.requests_total if last.requests_total else 0.0
    figures: dict[str, float] = {
        "requests_total": last.requests_total,
        "requests_per_s": round(rate, 3),
        "share_5xx": round(share, 4),
        "share_5xx_since_start": round(lifetime, 4),
    }
    parts = [
        f"{rate:.1f} req/s {sparkline(rates)}",
        f"5xx {share:.1%} now, {lifetime:.1%} since start",
    ]
    if last.etcd_mean_s is not None:
        figures["etcd_mean_ms"] = round(last.etcd_mean_s * 1000, 3)
        parts.append(f"etcd {last.etcd_mean_s * 1000:.1f} ms mean of {last.etcd_requests:.0f}")
    if last.inflight:
        figures.update({f"inflight_{k or 'all'}": v for k, v in last.inflight.items()})
        parts.append(
            "inflight " + ", ".join(f"{k}={v:.0f}" for k, v in sorted(last.inflight.items()))
        )
    if last.resident_bytes is not None:
        figures["resident_mib"] = round(last.resident_bytes / 2**20, 1)
        parts.append(f"rss {last.resident_bytes / 2**20:.0f} MiB")
    verdict, hint = Verdict.OK, ""
    if share > _MAX_5XX_SHARE:
        verdict = Verdict.WARN
        hint = "many requests fail on the server side: the log tail and the etcd checks say why"
    return (Check(_GROUP, "metrics", verdict, "; ".join(parts), hint, _table(last), figures),)
