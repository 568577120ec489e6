"""From the raw results to figures with their ceilings, ratios and targets; and the table."""

import statistics
from dataclasses import dataclass
from typing import Any

INGEST_TARGET_RATE = 1000
INGEST_P99_TARGET_MS = 50.0
INGEST_VS_BARE_TARGET = 0.5
DECISION_RATE = 500
DECISION_P95_TARGET_MS = 250.0
DRAIN_VS_CLASSIFIER_TARGET = 0.6


@dataclass
class Figure:
    name: str
    unit: str
    value: float | None
    low: float | None = None
    high: float | None = None
    ceiling: float | None = None
    ceiling_name: str = ""
    target: str = ""
    passed: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.ceiling:
            return None
        return self.value / self.ceiling

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "value": self.value,
            "min": self.low,
            "max": self.high,
            "ceiling": self.ceiling,
            "ceiling_name": self.ceiling_name,
            "ratio": self.ratio,
            "target": self.target,
            "passed": self.passed,
        }


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _spread(name: str, unit: str, values: list[float | None], **extra: Any) -> Figure:
    present = [v for v in values if v is not None]
    return Figure(
        name=name,
        unit=unit,
        value=_median(present),
        low=min(present) if len(present) > 1 else None,
        high=max(present) if len(present) > 1 else None,
        **extra,
    )


def figures(results: dict[str, Any]) -> list[Figure]:
    out: list[Figure] = []
    classifier_rate = results["classifier"]["comments_per_second"]["median"]
    classifier = results["classifier"]["comments_per_second"]
    out.append(
        Figure(
            "classifier alone, batch of 256 (ceiling for scoring)",
            "comments/s",
            classifier_rate,
            classifier["min"],
            classifier["max"],
        )
    )
    redis_ping = results["redis"]["python_ping"]
    out.append(Figure("Redis PING round trip from Python, p50", "ms", redis_ping["p50_ms"]))
    for command, rate in results["redis"].get("redis_benchmark_requests_per_second", {}).items():
        out.append(Figure(f"redis-benchmark {command}", "requests/s", rate))
    for part, timing in results["parts"].items():
        out.append(Figure(f"one submission's part alone: {part}, p50", "ms", timing["p50_ms"]))

    steps = results["round_parts"]["median_ms"]
    for step, ms in steps.items():
        out.append(
            Figure(
                f"one scoring round of 256 alone: {step}, median",
                "ms",
                ms,
                ceiling=sum(steps.values()),
                ceiling_name="whole round",
            )
        )

    by_scale: dict[int, dict[str, Figure]] = {}
    for scale_text, scale in results["scales"].items():
        n = int(scale_text)
        tag = f"x{n}"
        keep: dict[str, Figure] = {}
        bare_sat = [run["throughput"] for run in scale["bare"]["saturation"]]
        bare = _spread(
            f"{tag} bare FastAPI endpoint, saturation (ceiling for HTTP)", "req/s", list(bare_sat)
        )
        out.append(bare)
        keep["bare"] = bare
        sync = scale["bare"]["saturation_sync_handler"]["throughput"]
        out.append(
            Figure(
                f"{tag} bare endpoint as a sync (threadpool) handler, saturation",
                "req/s",
                sync,
                ceiling=bare.value,
                ceiling_name="bare async",
            )
        )
        for rate_text, runs in scale["service"]["rates"].items():
            rate = int(rate_text)
            bare_run = scale["bare"]["rates"].get(rate_text)
            sustained = [run["load"]["throughput"] for run in runs]
            target = ""
            passed = None
            p99s = [run["load"]["latency_ms"]["p99"] for run in runs]
            if rate == INGEST_TARGET_RATE:
                target = f">= {0.98 * rate:.0f}/s and p99 <= {INGEST_P99_TARGET_MS:.0f} ms"
                passed = all(
                    run["load"]["throughput"] >= 0.98 * rate
                    and run["load"]["errors"] == 0
                    and (run["load"]["latency_ms"]["p99"] or 1e9) <= INGEST_P99_TARGET_MS
                    for run in runs
                )
            out.append(
                _spread(
                    f"{tag} ingest at {rate}/s offered: sustained",
                    "req/s",
                    list(sustained),
                    ceiling=float(rate),
                    ceiling_name="offered",
                    target=target,
                    passed=passed,
                )
            )
            for q in ("p50", "p95", "p99"):
                ceiling = bare_run["latency_ms"][q] if bare_run else None
                out.append(
                    _spread(
                        f"{tag} ingest at {rate}/s: latency {q} (from scheduled send)",
                        "ms",
                        [run["load"]["latency_ms"][q] for run in runs],
                        ceiling=ceiling,
                        ceiling_name="bare, same rate",
                    )
                )
            out.append(
                _spread(
                    f"{tag} ingest at {rate}/s: not answered 2xx in time",
                    "requests",
                    [run["load"]["sent"] - run["load"]["ok"] for run in runs],
                )
            )
            if rate == INGEST_TARGET_RATE:
                keep["ingest_p99"] = _spread("p99", "ms", p99s)
            floor = _decision_floor(results, runs)
            for q in ("p50", "p95", "p99"):
                target, passed = "", None
                values = [run["decision"]["latency_ms"][q] for run in runs]
                if rate == DECISION_RATE and q == "p95":
                    target = f"<= {DECISION_P95_TARGET_MS:.0f} ms"
                    passed = all(
                        v is not None and v <= DECISION_P95_TARGET_MS for v in values
                    ) and all(run["decision"]["all_decided"] for run in runs)
                out.append(
                    _spread(
                        f"{tag} decision at {rate}/s: 202 -> decided {q}",
                        "ms",
                        list(values),
                        ceiling=floor,
                        ceiling_name="floor: scoring a round + Redis RTT",
                        target=target,
                        passed=passed,
                    )
                )
        restarts = scale["service"].get("api_restarts", [])
        out.append(
            Figure(
                f"{tag} API restarts needed after a run left it stuck",
                "restarts",
                float(len(restarts)),
                target="0",
                passed=not restarts,
            )
        )
        saturation = scale["service"]["saturation"]
        sat = _spread(
            f"{tag} ingest at saturation ({saturation[0]['load']['connections']} connections)",
            "req/s",
            [run["load"]["throughput"] for run in saturation],
            ceiling=bare.value,
            ceiling_name="bare endpoint",
            target=f">= {INGEST_VS_BARE_TARGET} x bare",
        )
        sat.passed = sat.ratio is not None and sat.ratio >= INGEST_VS_BARE_TARGET
        out.append(sat)
        keep["saturation"] = sat
        out.append(
            _spread(
                f"{tag} ingest at saturation: latency p99",
                "ms",
                [run["load"]["latency_ms"]["p99"] for run in saturation],
                ceiling=_median([r["latency_ms"]["p99"] for r in scale["bare"]["saturation"]]),
                ceiling_name="bare, saturation",
            )
        )
        out.append(
            _spread(
                f"{tag} decision at saturation: 202 -> decided p95",
                "ms",
                [run["decision"]["latency_ms"]["p95"] for run in saturation],
            )
        )
        for part in ("api", "workers"):
            out.append(
                _spread(
                    f"{tag} CPU per comment at saturation: {part}",
                    "ms",
                    [run["cpu_ms_per_comment"][part] for run in saturation],
                )
            )
        drain = scale["drain"]
        # Results written before the harness measured it there have the opening figure only.
        around = statistics.mean(drain.get("classifier_around") or [classifier_rate])
        out.append(
            Figure(
                f"{tag} backlog drain, against the run's opening classifier figure",
                "decided/s",
                drain["decided_per_second"],
                ceiling=classifier_rate * n,
                ceiling_name=f"classifier alone x {n}",
            )
        )
        figure = Figure(
            f"{tag} backlog drain ({drain['comments']} pending)",
            "decided/s",
            drain["decided_per_second"],
            ceiling=around * n,
            ceiling_name=f"classifier alone x {n}, just before/after",
            target=f">= {DRAIN_VS_CLASSIFIER_TARGET} x classifier",
        )
        figure.passed = (
            figure.ratio is not None
            and figure.ratio >= DRAIN_VS_CLASSIFIER_TARGET
            and drain["all_decided"]
            # A drain that began before it was timed is not a measurement.
            and drain.get("pending_at_start", drain["comments"]) == drain["comments"]
        )
        out.append(figure)
        keep["drain"] = figure
        out.append(
            Figure(
                f"{tag} backlog drain: CPU per comment, workers",
                "ms",
                drain["cpu_ms_per_comment"]["workers"],
            )
        )
        by_scale[n] = keep

    if 1 in by_scale and 2 in by_scale:
        one, two = by_scale[1], by_scale[2]
        for key, what in (
            ("bare", "bare endpoint"),
            ("saturation", "ingest at saturation"),
            ("drain", "backlog drain"),
        ):
            out.append(
                Figure(
                    f"gain of 2 API + 2 worker processes over 1 + 1: {what}",
                    "x",
                    _div(two[key].value, one[key].value),
                    ceiling=2.0,
                    ceiling_name="perfect scaling",
                )
            )
    return out


def _div(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def _decision_floor(results: dict[str, Any], runs: list[dict[str, Any]]) -> float | None:
    """The least a decision could take: score one round's comments and one broker trip."""
    rounds = sum(run["decision"]["scoring_rounds"] for run in runs)
    comments = sum(run["decision"]["decided"] for run in runs)
    if not rounds:
        return None
    per_round = comments / rounds
    classifier = results["classifier"]
    rate = classifier["comments_per_second"]["median"]
    scoring = max(classifier["single_comment_ms"], 1000 * per_round / rate)
    return scoring + results["redis"]["python_ping"]["p50_ms"]


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(items: list[Figure]) -> str:
    header = ["figure", "value", "unit", "spread", "ceiling", "ratio", "target", "ok"]
    rows = [header]
    for item in items:
        spread = f"{_fmt(item.low)}..{_fmt(item.high)}" if item.low is not None else ""
        ceiling = f"{_fmt(item.ceiling)} ({item.ceiling_name})" if item.ceiling else ""
        ratio = f"{item.ratio:.2f}" if item.ratio is not None else ""
        ok = {True: "yes", False: "NO", None: ""}[item.passed]
        rows.append(
            [item.name, _fmt(item.value), item.unit, spread, ceiling, ratio, item.target, ok]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for index, row in enumerate(rows):
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        lines.append(" | ".join(cells).rstrip())
        if index == 0:
            lines.append("-+-".join("-" * width for width in widths))
    return "\n".join(lines)
