"""A Comparison (service.model_registry.compare) as an aligned text table and as one
self-contained HTML page: inline SVG plots, no script, nothing fetched from elsewhere, so it
can be mailed or opened from a file and show the same thing."""

from collections.abc import Sequence
from html import escape

import numpy as np

from service.model_registry.compare import Comparison, OnDecisions, QualityReport


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


def _auc(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _attributes(comparison: Comparison) -> list[str]:
    # The live model's order, then any attribute only the candidate has.
    return list(dict.fromkeys([*comparison.live.labels, *comparison.candidate.labels]))


def decision_rows(comparison: Comparison) -> list[list[str]]:
    live, candidate = comparison.live, comparison.candidate
    rows = [["on moderators' decisions", f"live {live.version}", f"candidate {candidate.version}"]]
    for attribute in _attributes(comparison):
        rows.append(
            [
                f"ROC AUC {attribute}",
                _auc(live.auc.get(attribute)),
                _auc(candidate.auc.get(attribute)),
            ]
        )
    toxic = int(comparison.toxic.sum())
    for title, count, of in (
        (
            "would publish what moderators rejected",
            lambda m: m.would_publish_rejected,
            toxic,
        ),
        (
            "would hold/reject what moderators approved",
            lambda m: m.would_stop_approved,
            len(comparison.toxic) - toxic,
        ),
    ):
        rows.append([title, f"{count(live)} of {of}", f"{count(candidate)} of {of}"])
    rows.append(
        ["held under the site's policy", f"{live.held_rate:.1%}", f"{candidate.held_rate:.1%}"]
    )
    return rows


def functional_rows(live: QualityReport, candidate: QualityReport) -> list[list[str]]:
    rows = [["functional suite (pass rate)", "live", "candidate"]]
    theirs = {result.name: result for result in candidate.functional}
    for mine in live.functional:
        other = theirs.get(mine.name)
        rows.append(
            [
                mine.name,
                f"{mine.rate:.2f} ({mine.passed}/{mine.total})",
                "-" if other is None else f"{other.rate:.2f} ({other.passed}/{other.total})",
            ]
        )
    return rows


def bias_rows(live: QualityReport, candidate: QualityReport) -> list[list[str]]:
    """Per attribute: the mean term AUC, the worst term's AUC, the mean and worst neutral
    false-positive rate. The per-term figures behind them are what the gate compares."""
    rows = [
        [
            "identity bias",
            "live AUC mean/min",
            "candidate AUC mean/min",
            "live FPR mean/max",
            "candidate FPR mean/max",
        ]
    ]
    for attribute in dict.fromkeys([*live.bias, *candidate.bias]):
        cells = [attribute]
        for pick in ("auc", "fpr"):
            for report in (live, candidate):
                terms = report.bias.get(attribute)
                if not terms:
                    cells.append("-")
                elif pick == "auc":
                    values = [t.auc for t in terms]
                    cells.append(f"{np.mean(values):.3f}/{min(values):.3f}")
                else:
                    values = [t.false_positive_rate for t in terms]
                    cells.append(f"{np.mean(values):.3f}/{max(values):.3f}")
        rows.append(cells)
    return rows


def scores_source(comparison: Comparison) -> str:
    """Where the candidate's scores of the decided comments come from."""
    total, stored = len(comparison.toxic), comparison.candidate.from_shadow
    return (
        f"{comparison.candidate.version}'s scores: {stored} of {total} from shadow_scores "
        f"(given on live traffic), {total - stored} scored now; "
        f"{comparison.live.version}'s scored now"
    )


def validation_rows(comparison: Comparison) -> list[list[str]]:
    """Both versions' ROC AUC per attribute on the labelled data's validation split."""
    found = comparison.validation
    if found is None:
        return []
    rows = [
        [
            f"on the validation split ({found.comments} labelled comments)",
            f"live {comparison.live.version}",
            f"candidate {comparison.candidate.version}",
        ]
    ]
    for attribute in found.live.keys() | found.candidate.keys():
        rows.append(
            [
                f"ROC AUC {attribute}",
                _auc(found.live.get(attribute)),
                _auc(found.candidate.get(attribute)),
            ]
        )
    rows[1:] = sorted(rows[1:])
    return rows


def validation_note(comparison: Comparison) -> str:
    found = comparison.validation
    if found is None:
        return (
            "validation split not compared: no labelled data "
            "(`moderation model compare` reads the --data-dir folder and --input files)"
        )
    sources = ", ".join(f"{name} {count}" for name, count in sorted(found.sources.items()))
    return f"validation split: {sources}"


def format_comparison(comparison: Comparison) -> str:
    toxic = int(comparison.toxic.sum())
    where = f" on {comparison.site}" if comparison.site else ""
    lines = [
        f"{len(comparison.toxic)} comments moderators decided{where} since "
        f"{comparison.since.isoformat(timespec='seconds')}: {toxic} rejected or taken down, "
        f"{len(comparison.toxic) - toxic} approved",
        scores_source(comparison),
        "",
        *_table(decision_rows(comparison)),
        "",
        validation_note(comparison),
        *_table(validation_rows(comparison)),
        "",
        *_table(functional_rows(comparison.live_quality, comparison.candidate_quality)),
        "",
        *_table(bias_rows(comparison.live_quality, comparison.candidate_quality)),
        "",
    ]
    if comparison.regressions:
        lines.append(f"the quality gate would refuse {comparison.candidate.version}:")
        lines.extend(f"  {line}" for line in comparison.regressions)
    else:
        lines.append(f"the quality gate finds no regression in {comparison.candidate.version}")
    return "\n".join(lines)


# --- HTML ------------------------------------------------------------------------------------

LIVE_COLOUR = "#1f77b4"
CANDIDATE_COLOUR = "#d62728"
PLOT = 260  # side of a plot's square, in px
PAD = 36


def _html_table(rows: Sequence[Sequence[str]], table_class: str = "") -> str:
    if not rows:
        return ""
    opening = f'<table class="{escape(table_class)}">' if table_class else "<table>"
    head = "".join(f"<th>{escape(cell)}</th>" for cell in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows[1:]
    )
    return f"{opening}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _xy(x: float, y: float) -> str:
    return f"{PAD + x * PLOT:.1f},{PAD + (1 - y) * PLOT:.1f}"


def _axes(title: str, x_label: str, y_label: str) -> str:
    size = PLOT + 2 * PAD
    return (
        f'<rect x="{PAD}" y="{PAD}" width="{PLOT}" height="{PLOT}" fill="none" stroke="#999"/>'
        f'<text x="{size / 2}" y="20" text-anchor="middle" font-weight="bold">'
        f"{escape(title)}</text>"
        f'<text x="{size / 2}" y="{size - 6}" text-anchor="middle">{escape(x_label)}</text>'
        f'<text x="12" y="{size / 2}" text-anchor="middle" transform="rotate(-90 12 {size / 2})">'
        f"{escape(y_label)}</text>"
    )


def _svg(inner: str) -> str:
    size = PLOT + 2 * PAD
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 {size} {size}" font-family="sans-serif" font-size="11">{inner}</svg>'
    )


def roc_svg(comparison: Comparison, attribute: str) -> str:
    """ROC curves of both models for one attribute against the moderators' verdicts."""
    from sklearn.metrics import roc_curve

    parts = [
        _axes(f"ROC, {attribute}", "false-positive rate", "true-positive rate"),
        f'<polyline points="{_xy(0, 0)} {_xy(1, 1)}" fill="none" stroke="#ccc" '
        'stroke-dasharray="4 3"/>',
    ]
    toxic = comparison.toxic
    if 0 < toxic.sum() < len(toxic):
        for model, colour in (
            (comparison.live, LIVE_COLOUR),
            (comparison.candidate, CANDIDATE_COLOUR),
        ):
            if attribute not in model.labels:
                continue
            fpr, tpr, _ = roc_curve(toxic, model.scores[:, model.labels.index(attribute)])
            points = " ".join(_xy(float(x), float(y)) for x, y in zip(fpr, tpr, strict=True))
            # The candidate dashed over the live curve: where they coincide, both still show.
            dash = ' stroke-dasharray="6 4"' if model is comparison.candidate else ""
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" '
                f'stroke-width="2"{dash}/>'
            )
    else:
        parts.append(
            f'<text x="{PAD + PLOT / 2}" y="{PAD + PLOT / 2}" text-anchor="middle">'
            "needs approved and rejected comments</text>"
        )
    return _svg("".join(parts))


def histogram_svg(model: OnDecisions, toxic: np.ndarray, colour: str, bins: int = 20) -> str:
    """The model's toxicity scores, moderator-approved comments above the axis and
    moderator-rejected ones below, so where the two overlap is where it disagrees."""
    k = model.labels.index("toxicity") if "toxicity" in model.labels else 0
    edges = np.linspace(0.0, 1.0, bins + 1)
    civil, _ = np.histogram(model.scores[~toxic, k], bins=edges)
    rejected, _ = np.histogram(model.scores[toxic, k], bins=edges)
    tallest = max(int(civil.max(initial=0)), int(rejected.max(initial=0)), 1)
    half = PLOT / 2
    width = PLOT / bins
    parts = [
        _axes(f"{model.version}: {model.labels[k]}", "score", "approved ↑  rejected ↓"),
        f'<line x1="{PAD}" y1="{PAD + half}" x2="{PAD + PLOT}" y2="{PAD + half}" stroke="#999"/>',
    ]
    for i in range(bins):
        x = PAD + i * width
        up = civil[i] / tallest * half
        down = rejected[i] / tallest * half
        if up:
            parts.append(
                f'<rect x="{x:.1f}" y="{PAD + half - up:.1f}" width="{width - 1:.1f}" '
                f'height="{up:.1f}" fill="{colour}" fill-opacity="0.45"/>'
            )
        if down:
            parts.append(
                f'<rect x="{x:.1f}" y="{PAD + half:.1f}" width="{width - 1:.1f}" '
                f'height="{down:.1f}" fill="{colour}"/>'
            )
    return _svg("".join(parts))


STYLE = (
    "body{font-family:sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "td:first-child,th:first-child{text-align:left}"
    ".plots svg{margin:0 1em 1em 0}.regression{color:#a00}"
    f".model-live{{color:{LIVE_COLOUR}}}.model-candidate{{color:{CANDIDATE_COLOUR}}}"
)


def comparison_fragment(comparison: Comparison, *, table_class: str = "") -> str:
    """The report's body, every text escaped; no style attribute or script, so the admin UI
    can show it under its Content-Security-Policy (classes only; colours in its stylesheet)."""
    live, candidate = comparison.live, comparison.candidate
    toxic = int(comparison.toxic.sum())
    where = f" on {comparison.site}" if comparison.site else ""
    verdict = (
        "<ul>"
        + "".join(f'<li class="regression">{escape(line)}</li>' for line in comparison.regressions)
        + "</ul>"
        if comparison.regressions
        else "<p>The quality gate finds no regression.</p>"
    )
    plots = "".join(roc_svg(comparison, attribute) for attribute in _attributes(comparison))
    histograms = histogram_svg(live, comparison.toxic, LIVE_COLOUR) + histogram_svg(
        candidate, comparison.toxic, CANDIDATE_COLOUR
    )
    quality = (comparison.live_quality, comparison.candidate_quality)
    return (
        f"<p>{len(comparison.toxic)} comments moderators decided{escape(where)} since "
        f"{escape(comparison.since.isoformat(timespec='seconds'))}: {toxic} rejected or taken "
        f"down, {len(comparison.toxic) - toxic} approved. "
        f'<span class="model-live">■ live {escape(live.version)}</span> '
        f'<span class="model-candidate">■ candidate {escape(candidate.version)}</span> '
        f"(dashed)</p><p>{escape(scores_source(comparison))}.</p>"
        f"<h2>On moderators' decisions</h2>"
        f"{_html_table(decision_rows(comparison), table_class)}"
        f'<div class="plots">{plots}</div><div class="plots">{histograms}</div>'
        f"<h2>On labelled data</h2><p>{escape(validation_note(comparison))}.</p>"
        f"{_html_table(validation_rows(comparison), table_class)}"
        f"<h2>Quality gate</h2>{verdict}"
        f"{_html_table(functional_rows(*quality), table_class)}"
        f"{_html_table(bias_rows(*quality), table_class)}"
    )


def comparison_html(comparison: Comparison) -> str:
    """A page that stands alone: its style inline, nothing fetched."""
    title = f"{escape(comparison.live.version)} (live) vs {escape(comparison.candidate.version)}"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Model comparison: {title}</title><style>{STYLE}</style></head><body>"
        f"<h1>Model comparison: {title}</h1>{comparison_fragment(comparison)}"
        "</body></html>\n"
    )
