"""Key-finding sentences written from the verdicts of the comparison marts, and the analyst's commentary.

The words follow the statistics, never the other way round: a change is said to have risen or fallen only
when its test was significant (the `verdict` of `marts.indicator_comparisons` / `marts.strategy_review`,
pipeline/analysis/review.py); otherwise the sentence says "no significant change". Each sentence names its
test and interval, and a rate names the population year it divides by. Every function is pure: mart rows
(dicts, e.g. polars' `row(named=True)`) in, text out, so documents and tests call them the same way.

A row the public edition withholds (`disclosure_status` set by pipeline/publish/disclosure.py) gives a
sentence saying so, never its verdict.

Commentary is the analyst's own text, `<workspace>/commentary/<report>/<section>.md`, merged at render by
`commentary()`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.publish.figures import SUPPRESSED

Row = Mapping[str, Any]

CONFIDENCE = "95%"  # the level of every interval and test in the marts (review.ALPHA = 0.05)
_SECTION = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_HIDDEN = {SUPPRESSED: "hidden to protect small numbers", "[x]": "a restricted figure, in the restricted edition only"}


# --- numbers --------------------------------------------------------------------------------------------------


def decimals(unit: str) -> int:
    """Places to show a figure in this unit: whole counts, one place for rates and percentages, two for ratios
    (offences per individual)."""
    unit = (unit or "").strip()
    if unit.startswith("%") or unit.startswith("per "):
        return 1
    if " per " in unit:
        return 2
    return 0


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def number(value: float, unit: str = "") -> str:
    """A figure as the documents print it: thousands separated, places by unit (`decimals`)."""
    return f"{value:,.{decimals(unit)}f}"


def quantity(value: float, unit: str) -> str:
    """A figure with its unit: "85.3 per 1,000 residents", "42.0%", "1,204 crimes"."""
    unit = (unit or "").strip()
    if unit.startswith("%"):
        rest = unit[1:].strip()
        return f"{number(value, unit)}%" + (f" {rest}" if rest else "")
    return f"{number(value, unit)} {unit}".rstrip()


def figure(value: float | None, unit: str, lower: float | None = None, upper: float | None = None,
           denominator_year: int | None = None) -> str:
    """A figure with its interval and, for a rate, its population year:
    "85.3 per 1,000 residents (95% interval 84.1 to 86.5; population year 2024)"."""
    if _missing(value):
        return "no figure"
    notes = []
    if not _missing(lower) and not _missing(upper):
        notes.append(f"{CONFIDENCE} interval {number(lower, unit)} to {number(upper, unit)}")
    if denominator_year is not None and (unit or "").startswith("per "):
        notes.append(f"population year {denominator_year}")
    return quantity(value, unit) + (f" ({'; '.join(notes)})" if notes else "")


_ROLLING = re.compile(r"^12 months to (\d{4})-(\d{2})$")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def period_words(period: str | None) -> str:
    """A mart's period label as a sentence says it: "12 months to 2025-03" → "the 12 months to March 2025";
    other labels (financial years "2024/25", "baseline 2021/22") are kept."""
    if not period:
        return ""
    found = _ROLLING.match(period)
    return f"the 12 months to {_MONTHS[int(found.group(2)) - 1]} {found.group(1)}" if found else period


def _mid(title: str) -> str:
    """A title inside a sentence: "Total police recorded crime" → "total police recorded crime", "ASB" kept."""
    return title[:1].lower() + title[1:] if title[1:2].islower() else title


def _p(p_value: float) -> str:
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"


# --- verdicts -------------------------------------------------------------------------------------------------


def hidden(row: Row) -> str | None:
    """Why the public edition does not show this row's figures, or None when it does."""
    status = row.get("disclosure_status")
    return f"{status}: {_HIDDEN.get(status, 'not shown')}" if status else None


def judgement(verdict: str | None, polarity: str | None) -> str:
    """Whether a significant change is the better or the worse way for this measure ("" when neither applies)."""
    if verdict not in ("increase", "decrease") or polarity not in ("higher", "lower"):
        return ""
    better = (verdict == "increase") == (polarity == "higher")
    return "an improvement" if better else "a deterioration"


def verdict_label(row: Row) -> str:
    """The verdict in a few words, for a table cell: "significant decrease (an improvement)", "no significant
    change", "above peers", "not tested", or the disclosure status of a withheld row."""
    if hidden(row):
        return row["disclosure_status"]
    verdict = row.get("verdict")
    if verdict is None:
        return "not tested"
    if verdict in ("increase", "decrease"):
        better = judgement(verdict, row.get("direction") or row.get("polarity"))
        return f"significant {verdict}" + (f" ({better})" if better else "")
    return verdict


def rag_label(row: Row) -> str:
    """The RAG status for a table cell ("red", "amber", "green", or "not rated")."""
    if hidden(row):
        return row["disclosure_status"]
    return row.get("rag") or "not rated"


def change_phrase(row: Row, brief: bool = False) -> str:
    """The outcome of a change test, with the estimate, its interval, the test and p:
    "a significant decrease, an improvement (rate ratio 0.95, 95% interval 0.92 to 0.98; <test>; p = 0.003)"
    or "no significant change (...)"; `brief` keeps p alone, for a list whose tests are named once beneath it.
    Reads the columns `indicator_comparisons` and `strategy_review` share: verdict, change_measure, change,
    change_lower, change_upper, p_value, test (and polarity or direction)."""
    verdict = row.get("verdict")
    if verdict is None or _missing(row.get("p_value")):
        return "no test of change was possible (no earlier figure, or no events in either period)"
    stats = []
    measure = row.get("change_measure") or "change"
    if not _missing(row.get("change")) and not brief:
        estimate = f"{measure} {row['change']:,.2f}"
        if not _missing(row.get("change_lower")) and not _missing(row.get("change_upper")):
            estimate += f", {CONFIDENCE} interval {row['change_lower']:,.2f} to {row['change_upper']:,.2f}"
        stats.append(estimate)
    if row.get("test") and not brief:
        stats.append(row["test"])
    stats.append(_p(row["p_value"]))
    detail = f" ({'; '.join(stats)})"
    if verdict in ("increase", "decrease"):
        better = judgement(verdict, row.get("direction") or row.get("polarity"))
        return f"a significant {verdict}" + (f", {better}" if better else "") + detail
    return "no significant change" + detail


# --- sentences ------------------------------------------------------------------------------------------------


def change_sentence(row: Row, latest: Row | None = None) -> str:
    """One `indicator_comparisons` row comparing two periods ("rolling 12 months vs previous 12", "financial year
    vs baseline") as a finding. `latest`, the matching `indicator_values` row, adds the interval and the
    population year of the later figure."""
    title, unit = row["title"], row.get("unit") or ""
    if hidden(row):
        return f"{title}: {period_words(row['period'])} against {period_words(row['comparator'])} is not shown in this edition ({hidden(row)})."
    latest = latest or {}
    now = figure(row.get("value"), unit, latest.get("lower"), latest.get("upper"), latest.get("denominator_year"))
    before = "no figure" if _missing(row.get("comparator_value")) else quantity(row["comparator_value"], unit)
    verb = {"increase": "rose", "decrease": "fell"}.get(row.get("verdict") or "", "")
    if verb and not _missing(row.get("p_value")):
        lead = f"{title} {verb} to {now} in {period_words(row['period'])}, from {before} in {period_words(row['comparator'])}"
    else:
        lead = f"{title} was {now} in {period_words(row['period'])}, against {before} in {period_words(row['comparator'])}"
    return f"{lead}: {change_phrase(row)}."


def headline(row: Row) -> str | None:
    """A significant change as a key finding, short enough to scan: "Robbery rose to 1.5 per 1,000 residents in
    the 12 months to March 2025, from 1.2 in the 12 months to March 2024 (significant, p = 0.020): a
    deterioration." None when the change is not significant, not tested or withheld: a summary lists only what
    moved. The interval, the size of the change and the test are in the chapter's change_sentence."""
    verdict = row.get("verdict")
    if hidden(row) or verdict not in ("increase", "decrease") or _missing(row.get("p_value")):
        return None
    unit = row.get("unit") or ""
    verb = "rose" if verdict == "increase" else "fell"
    before = ("no figure" if _missing(row.get("comparator_value")) else  # the unit once: "from 13.0%", "from 100.1"
              number(row["comparator_value"], unit) + ("%" if unit.startswith("%") else ""))
    better = judgement(verdict, row.get("direction") or row.get("polarity"))
    return (f"{row['title']} {verb} to {quantity(row['value'], unit)} in {period_words(row['period'])}, from {before} in "
            f"{period_words(row['comparator'])} (significant, {_p(row['p_value'])})" + (f": {better}." if better else "."))


def trend_sentence(row: Row) -> str:
    """An `indicator_comparisons` row of comparison "trend since baseline" (a regression over the financial
    years) as a finding: the average change a year when significant, else no significant trend."""
    title = row["title"]
    if hidden(row):
        return f"{title}: the trend over {row['period']} is not shown in this edition ({hidden(row)})."
    years = f"the {row['comparator']} {row['period']}"
    if row.get("verdict") is None or _missing(row.get("p_value")) or _missing(row.get("change")):
        return f"{title}: no trend could be fitted over {years} (too few years, or no events)."
    interval = (f", {CONFIDENCE} interval {row['change_lower']:,.2f} to {row['change_upper']:,.2f}"
                if not _missing(row.get("change_lower")) and not _missing(row.get("change_upper")) else "")
    detail = f"({row['change_measure']} {row['change']:,.2f}{interval}; {row['test']}; {_p(row['p_value'])})"
    if row["verdict"] in ("increase", "decrease"):
        verb = "rose" if row["verdict"] == "increase" else "fell"
        better = judgement(row["verdict"], row.get("polarity"))
        size = f" by {abs(row['change'] - 1) * 100:.1f}% a year on average" if row["change_measure"].startswith("rate ratio") else ""
        return f"Over {years}, {_mid(title)} {verb} significantly{size}" + (f", {better}" if better else "") + f" {detail}."
    return f"Over {years}, {_mid(title)} showed no significant trend {detail}."


def peer_sentence(row: Row) -> str:
    """An `indicator_comparisons` row of comparison "peers" (Home Office rates of the most similar
    partnerships): above or below the peers only when the intervals do not overlap."""
    title, unit = row["title"], row.get("unit") or ""
    if hidden(row):
        return f"{title}: the comparison with peers is not shown in this edition ({hidden(row)})."
    where = row.get("area_name") or "the partnership"
    value = quantity(row["value"], unit)
    outcome = {"above peers": "above its peers", "below peers": "below its peers",
               "similar to peers": "similar to its peers"}.get(row.get("verdict") or "", "not compared with peers")
    how = "its interval does not overlap the peer mean's" if row.get("verdict") in ("above peers", "below peers") \
        else "the intervals overlap"
    return (f"In {period_words(row['period'])}, {_mid(title)} in {where} was "
            f"{value}, {outcome} ({row['comparator']}; {how}; {row.get('test') or 'Home Office recorded crime tables'}).")


def target_phrase(row: Row) -> str:
    """A strategy measure's target in words, from `strategy_review`: "a target of 80.0 per 1,000 residents
    (10.0% lower than the 2019/20 baseline of 88.9)"."""
    unit = row.get("unit") or ""
    if row.get("target_kind") is None:
        return "no target"
    if _missing(row.get("target_value")):
        return "a target that cannot be set yet (no baseline figure)"
    phrase = f"a target of {quantity(row['target_value'], unit)}"
    if row["target_kind"] == "change" and not _missing(row.get("baseline_value")):
        amount = row["target_amount"]
        side = "higher" if amount > 0 else "lower"
        phrase += (f" ({abs(amount):.1f}% {side} than the {row['baseline_period']} baseline of "
                   f"{quantity(row['baseline_value'], unit)})")
    return phrase


def target_sentence(row: Row, brief: bool = False) -> str:
    """A `strategy_review` row (one measure of the strategy) as a finding: latest figure, target, RAG with its
    reason, and the test of the change since the baseline (`brief`: its verdict and p, the test named elsewhere)."""
    name, unit = row["measure"], row.get("unit") or ""
    if hidden(row):
        return f"{name}: not shown in this edition ({hidden(row)})."
    if _missing(row.get("latest_value")):
        return f"{name}: no figure yet for the strategy period; {row.get('rag_reason') or 'not rated'}."
    now = figure(row["latest_value"], unit, row.get("latest_lower"), row.get("latest_upper"), row.get("denominator_year"))
    rated = (f"{row['rag'].upper()}, {row['rag_reason'].split(': ', 1)[-1]}" if row.get("rag")
             else f"not rated ({row.get('rag_reason') or 'no target set'})")
    text = f"{name}: {now} in {period_words(row['latest_period'])}, against {target_phrase(row)}: {rated}."
    if not _missing(row.get("baseline_value")) and row.get("verdict") is not None:
        text += (f" Against the {row['baseline_period']} baseline of {quantity(row['baseline_value'], unit)}: "
                 f"{change_phrase(row, brief)}.")
    return text


def rag_rule() -> str:
    """The red/amber/green rule in words (pipeline/analysis/stats.py `rag` with its default RagRule)."""
    return ("Green: the latest figure meets its target. Amber: it meets the target only within its 95% interval, "
            "or misses it while moving significantly the right way, or misses it by less than its interval. "
            "Red: it misses the target and is moving significantly the wrong way, or its whole interval misses it. "
            "A change is significant when its test gives p < 0.05.")


# --- commentary -----------------------------------------------------------------------------------------------


def commentary(section: str, *, folder: str | Path, edition: str) -> str:
    """The analyst's commentary for one section, as Markdown to print from an `output: asis` cell.

    folder: the document's commentary folder, `<workspace>/commentary/<report>/` (the `commentary_dir`
    parameter publish() passes). A missing or empty file is a visible placeholder in the restricted edition,
    naming the file to write, and nothing at all in the public edition."""
    if not _SECTION.match(section):
        raise ValueError(f"commentary section {section!r}: use lower-case letters, digits, hyphens and underscores, e.g. 'overview'")
    folder = Path(folder)
    path = folder / f"{section}.md"
    text = path.read_text(encoding="utf-8").strip() if path.is_file() else ""
    if text:
        return f"::: {{.csp-commentary}}\n{text}\n:::\n"
    if edition == "public":
        return ""
    where = f"commentary/{folder.name}/{section}.md"
    return (f"::: {{.callout-note .csp-commentary-missing}}\n**Commentary to come.** No analyst commentary has been "
            f"written for this section yet: write it in `{where}` in the workspace and publish again. "
            f"This note appears in the restricted edition only.\n:::\n")
