"""Human renderings of a diff: a Markdown summary for a pull-request comment, a short text table."""

from __future__ import annotations

import re
from collections.abc import Mapping

from evaltui.core.models import Run
from evaltui.core.numbers import p_value_text
from evaltui.core.textsafe import one_line
from evaltui.diff.models import CaseDiff, Change, DiffFilter, DiffSummary, ScorerSummary, Verdict
from evaltui.diff.rundiff import RunDiff

VERDICT_LINE = {
    Verdict.REGRESSION: ":x: **Regression beyond noise**",
    Verdict.POSSIBLE_REGRESSION: ":warning: **Possible regression** (within noise)",
    Verdict.IMPROVEMENT: ":white_check_mark: **Improvement beyond noise**",
    Verdict.NO_CHANGE: ":white_check_mark: **No difference beyond noise**",
    Verdict.NOT_COMPARED: ":grey_question: **Not compared**: no scorer is in both runs",
}
VERDICT_WORD = {
    Verdict.REGRESSION: "REGRESSION",
    Verdict.POSSIBLE_REGRESSION: "possible regression (noise?)",
    Verdict.IMPROVEMENT: "improvement",
    Verdict.NO_CHANGE: "no change",
    Verdict.NOT_COMPARED: "not compared",
}


def top_regressed(diff: RunDiff, limit: int = 10) -> list[CaseDiff]:
    """The worst regressed paired cases (lowest delta first, pass->fail first among equals)."""
    return [diff.case(int(row)) for row in diff.rows(DiffFilter.REGRESSED)[:limit]]


def _signed(value: float | int | None, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return f"{value:+d}"
    return f"{value:+.{digits}f}"


def _ci(scorer: ScorerSummary) -> str:
    if scorer.ci.low is None or scorer.ci.high is None:
        return "n/a"
    return f"[{scorer.ci.low:+.3f}, {scorer.ci.high:+.3f}]"


_MARKDOWN_SYNTAX = re.compile(r"[|*_~\[\]#!]")


def _md(text: str, limit: int = 80) -> str:
    """Data text made safe inside a Markdown table cell."""
    cleaned = one_line(text, limit).replace("\\", "\\\\").replace("`", "'")
    cleaned = cleaned.replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SYNTAX.sub(r"\\\g<0>", cleaned)  # |, emphasis, links, headings: literal


def _run_label(run: Run) -> str:
    return f"`{run.id[:8]}` {_md(run.model, 40)}"


def _regression_rule(summary: DiffSummary) -> str:
    exceeding = [s.name for s in summary.scorers if s.exceeds and summary.is_compared(s.name)]
    one_sided = [s.name for s in summary.scorers if s.exceeds and not summary.is_compared(s.name)]
    rule = f"meanDelta < -{summary.options.regression_threshold:g}"
    if exceeding:
        names = ", ".join(_md(name, 40) for name in exceeding)
        line = f"compareRuns' rule ({rule}): **regressed** ({names})"
    else:
        line = f"compareRuns' rule ({rule}): not regressed"
    if one_sided:
        names = ", ".join(_md(name, 40) for name in one_sided)
        line += (
            f"; it also fires on {names}, in one run only (a missing score counts as 0):"
            " not compared, not a regression"
        )
    return line


def _verdict_word(summary: DiffSummary, scorer: ScorerSummary) -> str:
    if not summary.is_compared(scorer.name):
        only = next(n.only_in for n in summary.not_compared if n.scorer == scorer.name)
        return f"not compared (only in the {only})"
    return VERDICT_WORD[scorer.verdict]


def _not_compared_lines(summary: DiffSummary) -> list[str]:
    """Why some scorers and cases take no part in the verdict."""
    lines = []
    if summary.not_compared:
        lines += [
            "",
            "**Not compared** (in one run only: compareRuns counts a missing score as 0, so "
            "its numbers above are kept but left out of the verdict):",
            "",
        ]
        lines += [f"- {_md(n.scorer, 60)}: only in the {n.only_in}" for n in summary.not_compared]
    derived = summary.candidate.derived
    if summary.derived_candidate and derived is not None:
        lines += [
            "",
            f"**The candidate is a {derived.verb}** ({_md(derived.label(), 200)}): only its "
            f"cases are compared; the baseline's {summary.outside_derived} other cases were "
            "never given to it and are not removed.",
        ]
    return lines


def markdown(diff: RunDiff, previews: Mapping[str, str] | None = None, top: int = 10) -> str:
    """A pull-request comment: verdict, per-scorer table, cost, context, worst cases."""
    s = diff.summary
    suite = _md(s.baseline.suite_name or "?", 60)
    lines = [
        f"### evaltui diff: {VERDICT_LINE[s.verdict]}",
        "",
        f"Suite **{suite}**: baseline {_run_label(s.baseline)} → candidate "
        f"{_run_label(s.candidate)}. {s.pairing.compared} cases compared "
        f"({_md(s.pairing.reason, 300)}); threshold {s.threshold:g}, "
        f"tolerance {s.options.tolerance:g}.",
        "",
        *([f"{_md(s.verdict_reason, 600)}  "] if s.verdict != Verdict.NO_CHANGE else []),
        f"{_regression_rule(s)}",
        "",
        "| scorer | Δ mean | 95% CI | improved | regressed | unchanged "
        "| pass→fail | fail→pass | McNemar p | verdict |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for m in s.scorers:
        lines.append(
            f"| {_md(m.name, 40)} | {_signed(m.mean_delta)} | {_ci(m)} | {m.improved} "
            f"| {m.regressed} | {m.unchanged} | {m.flips.pass_to_fail} | {m.flips.fail_to_pass} "
            f"| {p_value_text(m.flips.p_value)} | {_verdict_word(s, m)} |"
        )
    flips = s.case_flips
    cost = s.cost
    lines += [
        f"| *case (all scorers)* | | | {s.improved_cases} | {s.regressed_cases} | "
        f"| {flips.pass_to_fail} | {flips.fail_to_pass} | {p_value_text(flips.p_value)} | |",
        "",
        f"**Cost**: latency {_signed(cost.latency_delta_ms)} ms · tokens in "
        f"{_signed(cost.token_in_delta)} · tokens out {_signed(cost.token_out_delta)}",
    ]
    lines += _not_compared_lines(s)
    extra = []
    if s.pairing.added or s.removed:
        extra.append(f"{s.pairing.added} added, {s.removed} removed")
    if s.errored_baseline_only or s.errored_candidate_only:
        extra.append(
            f"errored in the baseline only: {s.errored_baseline_only}, "
            f"in the candidate only: {s.errored_candidate_only}"
        )
    if extra:
        lines += ["", "**Cases**: " + "; ".join(extra)]
    if s.context:
        lines += ["", "**Context differences** (should be held fixed):", ""]
        for c in s.context:
            lines.append(
                f"- {_md(c.key, 60)}: `{_md(c.baseline or '—', 80)}` → "
                f"`{_md(c.candidate or '—', 80)}`"
            )
    worst = top_regressed(diff, top)
    if worst:
        lines += ["", f"<details><summary>Top {len(worst)} regressed cases</summary>", ""]
        lines += ["| idx | worst Δ | regressed scorers | input |", "| ---: | ---: | --- | --- |"]
        for case in worst:
            names = [n for n, d in case.scorer_deltas.items() if d.change == Change.REGRESSED]
            idx = str(case.baseline_idx)
            if case.candidate_idx != case.baseline_idx:
                idx += f" → {case.candidate_idx}"
            preview = (previews or {}).get(case.baseline_case_id or "", "")
            lines.append(
                f"| {idx} | {_signed(case.worst_delta, 3)} | {_md(', '.join(names), 60)} "
                f"| {_md(preview, 80)} |"
            )
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def text(diff: RunDiff) -> str:
    """The default `evaltui diff` output: a short plain-text table."""
    s = diff.summary
    rows = [["SCORER", "Δ MEAN", "95% CI", "IMPR", "REGR", "SAME", "P→F", "F→P", "P", "VERDICT"]]
    for m in s.scorers:
        rows.append(
            [
                one_line(m.name, 30),
                _signed(m.mean_delta),
                _ci(m),
                str(m.improved),
                str(m.regressed),
                str(m.unchanged),
                str(m.flips.pass_to_fail),
                str(m.flips.fail_to_pass),
                p_value_text(m.flips.p_value),
                _verdict_word(s, m),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    table = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    lines = [
        f"baseline   {s.baseline.id[:8]}  {one_line(s.baseline.suite_name or '?', 40)}"
        f"  {one_line(s.baseline.model, 40)}",
        f"candidate  {s.candidate.id[:8]}  {one_line(s.candidate.suite_name or '?', 40)}"
        f"  {one_line(s.candidate.model, 40)}",
        f"{s.pairing.compared} compared, {s.pairing.added} added, {s.removed} removed"
        + (f", {s.outside_derived} not in the derived run" if s.derived_candidate else "")
        + f": {one_line(s.pairing.reason, 300)}",
    ]
    for n in s.not_compared:
        lines.append(
            f"not compared: {one_line(n.scorer, 40)} (only in the {n.only_in}; a missing score"
            " counts as 0 in compareRuns, left out of the verdict)"
        )
    for c in s.context:
        lines.append(
            f"context: {one_line(c.key, 40)}: {one_line(c.baseline or '-', 60)} -> "
            f"{one_line(c.candidate or '-', 60)}"
        )
    flips = s.case_flips
    cost = s.cost
    lines += [
        "",
        *table,
        "",
        f"cases: {s.regressed_cases} regressed, {s.improved_cases} improved, pass->fail "
        f"{flips.pass_to_fail}, fail->pass {flips.fail_to_pass} (p={p_value_text(flips.p_value)}) "
        f"at threshold {s.threshold:g}",
        f"cost: latency {_signed(cost.latency_delta_ms)} ms, tokens in "
        f"{_signed(cost.token_in_delta)}, out {_signed(cost.token_out_delta)}",
        f"verdict: {one_line(s.verdict_reason, 1000)}",
        _regression_rule(s).replace("**", ""),
    ]
    return "\n".join(lines) + "\n"
