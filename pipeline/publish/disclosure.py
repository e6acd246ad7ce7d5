"""Disclosure control: the one place between the marts and the public edition.

`public_marts` writes a disclosure-controlled copy of each mart a public document reads into
`warehouse/marts_public/` (a run narrowed to one partnership, its rows alone into a folder of that run's own);
the public edition reads only those copies, the restricted edition the marts themselves. No report template suppresses anything by itself.

Each mart declares its treatment here (`TREATMENTS`); a mart without one never reaches a public edition
(`DisclosureError`), so a new mart is reviewed before it is published. The rules themselves (threshold,
rounding, per-source overrides) come from `partnership.yaml`'s `disclosure:` section.

- **Primary suppression**: a count from 1 to threshold-1 is hidden (`[c]`); zero is shown.
- **Secondary suppression**: within each group of cells that adds up to a published total (the wards of a
  partnership, the crime types of a year, the months of a year), a lone hidden cell could be recovered by
  subtraction, so the next smallest cell is hidden too, repeated until no group has exactly one.
- **Derived figures** (rates, percentages, intervals) are hidden with their count.
- **Rounding** (optional, or by a source's rule): published counts are rounded to the nearest 5 or 10.
- **Restricted figures** (an indicator whose catalogue entry says `disclosure: restricted`) are withheld
  from the public edition altogether (`[x]`).

A hidden value becomes null and its row's `disclosure_status` column says why; it is null for a shown figure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipeline.config import Disclosure
from pipeline.publish.figures import SUPPRESSED  # what a document shows for a hidden cell
from pipeline.publish.figures import WITHHELD as STATUS  # the column naming why; not "status": marts such as mart_submissions have their own
from pipeline.publish.periods import fy_start_expr

WITHHELD = "[x]"  # not in the public edition: a restricted figure
PUBLIC_DIR = "marts_public"


class DisclosureError(Exception):
    """A mart would reach the public edition without a declared treatment, or its columns changed under one."""


@dataclass(frozen=True)
class Treatment:
    """How one mart is disclosure-controlled.

    count: the column of counts of events or people (None: the mart holds no such counts, e.g. published
    national statistics or row counts of extracts — a reviewed decision, written down here).
    derived: columns computed from the count (rates, percentages, interval limits), hidden with it.
    keys: the columns identifying a cell. coarsen: keep only these key columns in the public copy, summing
    the count over the rest (a mart whose detail the public edition does not show).
    totals: groups of columns; the cells sharing their values add up to a total that is (or may be)
    published, so secondary suppression protects each group.
    sources: the sources a row's figures come from, for per-source rules (a function of the frame).
    withheld: a boolean expression marking rows never published (restricted figures).
    extra: adds helper columns (named `_...`, dropped afterwards) that totals or withheld refer to.
    """

    count: str | None
    keys: tuple[str, ...] = ()
    derived: tuple[str, ...] = ()
    coarsen: tuple[str, ...] | None = None
    totals: tuple[tuple[str, ...], ...] = ()
    sources: Callable[[pl.DataFrame], pl.Series] | tuple[str, ...] = ()
    withheld: pl.Expr | None = None
    extra: Callable[[pl.DataFrame], pl.DataFrame] | None = field(default=None, compare=False)


def _indicator_sources(frame: pl.DataFrame) -> pl.Series:
    """Each indicator row's sources, from the catalogue (indicators/*.yaml)."""
    from pipeline.analysis.catalogue import load_catalogue

    sources = {i.id: ",".join(i.sources) for i in load_catalogue().values()}
    return frame["indicator_id"].replace_strict(sources, default="", return_dtype=pl.String)


def _restricted_indicator() -> pl.Expr:
    """Rows of an indicator the catalogue marks `disclosure: restricted`."""
    from pipeline.analysis.catalogue import load_catalogue

    return pl.col("indicator_id").is_in([i.id for i in load_catalogue().values() if i.disclosure == "restricted"])


def _with_year(frame: pl.DataFrame) -> pl.DataFrame:
    """The financial year a month or quarter falls in: months and quarters add up to their year."""
    return frame.with_columns(fy_start_expr(pl.col("period_start")).alias("_fy"))


_MONTHLY_KEYS = ("partnership_id", "month", "month_label", "financial_year", "fy_quarter", "record_kind")
TREATMENTS: dict[str, Treatment] = {
    # Ward x crime type x month is far too fine for the public (most cells are 1-9): the public copy keeps
    # the partnership's monthly totals by kind, which is all the public documents show from it.
    "mart_crime_monthly_ward": Treatment(
        count="records", keys=_MONTHLY_KEYS, coarsen=_MONTHLY_KEYS, sources=("police_street",),
        totals=(("partnership_id", "financial_year", "record_kind"),),
    ),
    "mart_crime_rate_fy": Treatment(
        count="records", keys=("partnership_id", "financial_year", "record_kind", "crime_type"),
        derived=("rate_per_1000",), sources=("police_street",),
        totals=(("partnership_id", "financial_year", "record_kind"),),
    ),
    # Rows and months of data each partner delivered: counts of extract rows, not of people, but a small
    # source (MARAC, Prevent) delivers a handful of rows, so the rule applies to them too.
    "mart_submissions": Treatment(count="rows", keys=("source", "quarter_start"), sources=lambda f: f["source"]),
    # Ward outlines (ONS boundaries, dissolved from LSOAs): geometry, no count of anything.
    "mart_ward_shapes": Treatment(count=None),
    # LSOA outlines: public ONS boundaries too, but nothing below ward level reaches a public edition, so every
    # row is withheld and its outline dropped (the restricted edition's LSOA maps read the marts themselves).
    "mart_lsoa_shapes": Treatment(count=None, keys=("partnership_id", "lsoa_code"), derived=("wkt",), withheld=pl.lit(True)),
    # Home Office tables by CSP and force: already-published national statistics.
    "peer_rates": Treatment(count=None),
    "peer_comparison": Treatment(count=None),
    "indicator_values": Treatment(
        count="numerator",
        keys=("indicator_id", "partnership_id", "area_type", "area_code", "period_type", "period"),
        derived=("value", "lower", "upper"),
        totals=(
            ("indicator_id", "partnership_id", "area_type", "period_type", "period"),  # wards (LSOAs) add up to the partnership
            ("indicator_id", "partnership_id", "area_type", "area_code", "period_type", "_fy"),  # months, quarters add up to the year
        ),
        sources=_indicator_sources,
        withheld=pl.col("disclosure") == "restricted",
        extra=_with_year,
    ),
    # Comparisons hold rates and changes, not counts: the public sees the partnership's own, never a ward's
    # (a small area's rate over a known population gives its count away), and no restricted indicator.
    "indicator_comparisons": Treatment(
        count=None, keys=("comparison", "indicator_id", "partnership_id", "area_type", "area_code", "period", "comparator"),
        derived=("value", "comparator_value", "change", "change_lower", "change_upper", "p_value", "target",
                 "verdict", "rag", "rag_reason"),  # a verdict or a reason (it quotes the figure) says what the figure is
        withheld=(pl.col("disclosure") == "restricted") | (pl.col("area_type") != "partnership"),
    ),
    "strategy_review": Treatment(
        count="latest_numerator", keys=("strategy", "measure", "indicator_id", "partnership_id"),
        derived=("latest_value", "latest_lower", "latest_upper", "latest_denominator", "baseline_value", "baseline_lower",
                 "baseline_upper", "target_value", "change", "change_lower", "change_upper", "p_value", "verdict", "trend",
                 "trend_p_value", "rag", "rag_reason"),
        sources=_indicator_sources, withheld=pl.col("_restricted"),
        extra=lambda f: f.with_columns(_restricted_indicator().alias("_restricted")),
    ),
    # Place (pipeline/analysis/place.py): rates of wards and LSOAs. Nothing below ward level is public, and a
    # ward's rate over its known population gives its count away, so it is hidden with the count.
    "area_rates": Treatment(
        count="numerator", keys=("indicator_id", "partnership_id", "area_type", "area_code", "period"),
        derived=("value", "lower", "upper"), totals=(("indicator_id", "partnership_id", "area_type", "period"),),
        sources=_indicator_sources,
        withheld=(pl.col("disclosure_class") == "restricted") | (pl.col("area_type") != "ward"),
    ),
    "hotspots": Treatment(
        count="numerator", keys=("indicator_id", "partnership_id", "area_type", "area_code", "period"),
        derived=("value", "lower", "upper", "gi_star_z", "gi_star_p"),
        totals=(("indicator_id", "partnership_id", "area_type", "period"),), sources=_indicator_sources,
        withheld=(pl.col("disclosure_class") == "restricted") | (pl.col("area_type") != "ward"),
    ),
    # Shares of the partnership's events in its top LSOAs and a Gini index: one row per year, no small area named.
    "concentration": Treatment(
        count="events", keys=("indicator_id", "partnership_id", "period"),
        derived=("top5_share", "top10_share", "gini", "gini_change", "change_lower", "change_upper"),
        sources=_indicator_sources, withheld=pl.col("disclosure_class") == "restricted",
    ),
    # Rates by IMD decile: the deciles of a year add up to the partnership's total.
    "deprivation": Treatment(
        count="numerator", keys=("indicator_id", "partnership_id", "period", "imd_decile"),
        derived=("value", "lower", "upper"), totals=(("indicator_id", "partnership_id", "period"),),
        sources=_indicator_sources, withheld=pl.col("disclosure_class") == "restricted",
    ),
    # Harm-weighted crime: its rows are classed restricted (the shipped weights are illustrative), so the public
    # copy withholds them all.
    "harm": Treatment(
        count="offences", keys=("partnership_id", "period", "offence_group"),
        derived=("harm", "unweighted_offences", "offences_per_1000", "harm_per_1000", "harm_share", "volume_share"),
        totals=(("partnership_id", "period"),), sources=("police_crimes",),
        withheld=pl.col("disclosure_class") == "restricted",
    ),
    # The Serious Violence Duty profile (pipeline/analysis/violence_profile.py): one row per finding, its sentence
    # (`finding`) written from its own figures, so the sentence is hidden with its count. Nothing below ward level
    # (LSOAs, and the partners' free-text repeat locations) reaches the public edition.
    "violence_profile": Treatment(
        count="numerator",
        keys=("partnership_id", "period", "section", "measure", "indicator_id", "source", "area_type", "area_code"),
        derived=("denominator", "value", "lower", "upper", "comparator", "finding"),
        totals=(("partnership_id", "period", "section", "measure", "indicator_id", "source", "area_type"),),
        sources=lambda f: f["source"].fill_null(""),
        withheld=(pl.col("disclosure_class") == "restricted") | pl.col("area_type").is_in(["lsoa", "place"]),
    ),
    # The prioritisation matrix (pipeline/analysis/priorities.py): scores from 1 to 5 per theme, not counts; a theme
    # whose evidence includes a restricted figure is scored in the restricted edition only.
    "priority_matrix": Treatment(count=None, keys=("partnership_id", "theme"), withheld=pl.col("disclosure_class") == "restricted"),
    # Its evidence: one figure per row in its own unit (crimes, rates, scores), so no one count column; restricted rows
    # are withheld, and a count shown is audited like any other.
    "priority_evidence": Treatment(
        count=None, keys=("partnership_id", "theme", "factor", "indicator_id", "period"), derived=("value",),
        withheld=pl.col("disclosure_class") == "restricted",
    ),
}


def treatment(mart: str) -> Treatment:
    try:
        return TREATMENTS[mart]
    except KeyError:
        raise DisclosureError(
            f"marts/{mart}: no disclosure treatment is declared, so it cannot reach a public edition; "
            f"add one to TREATMENTS in pipeline/publish/disclosure.py (which column counts people or events, "
            f"what is derived from it, which cells add up to a published total)"
        ) from None


def sources_of(mart: str, indicator_id: str | None = None) -> list[str]:
    """The sources a published figure comes from (for figures.csv): its indicator's, from the catalogue, or
    its mart's, as declared in its treatment."""
    if indicator_id is not None:
        from pipeline.analysis.catalogue import load_catalogue

        return list(load_catalogue()[indicator_id].sources)
    spec = treatment(mart.removeprefix("marts/"))
    return [] if callable(spec.sources) else list(spec.sources)


def _round(values: pl.Expr, base: pl.Expr) -> pl.Expr:
    """Round half up to the nearest `base` (0: unrounded)."""
    return pl.when(base > 0).then(((values / base) + 0.5).floor() * base).otherwise(values)


def _secondary(frame: pl.DataFrame, count: str, groups: Sequence[Sequence[str]]) -> pl.DataFrame:
    """Hide the next smallest cell (a positive one first) in every group with exactly one hidden cell, until none has."""
    frame = frame.with_row_index("_row")
    while True:
        chosen: list[int] = []
        hidden = pl.col(STATUS) == SUPPRESSED
        for group in groups:
            group = list(group)
            lone = frame.group_by(group).agg(hidden.sum().alias("_hidden"), pl.len().alias("_cells")).filter(
                (pl.col("_hidden") == 1) & (pl.col("_cells") > 1)
            )
            if lone.height == 0:
                continue
            picks = (
                frame.join(lone.select(group), on=group, nulls_equal=True)
                .filter(pl.col(STATUS).is_null() & pl.col(count).is_not_null())
                .sort([pl.col(count) == 0, count, "_row"])
                .group_by(group, maintain_order=True).first()
            )
            chosen += picks["_row"].to_list()
        if not chosen:
            return frame.drop("_row")
        frame = frame.with_columns(
            pl.when(pl.col("_row").is_in(chosen)).then(pl.lit(SUPPRESSED)).otherwise(pl.col(STATUS)).alias(STATUS)
        )


def suppress(frame: pl.DataFrame, mart: str, rules: Disclosure) -> pl.DataFrame:
    """The public copy of one mart: counts below the threshold and whatever would reveal them hidden."""
    spec = treatment(mart)
    if (spec.count is None and spec.withheld is None) or frame.height == 0:  # nothing to hide (an empty mart's
        return frame.with_columns(pl.lit(None, pl.String).alias(STATUS))  # columns may not even be typed)
    needed = {*([spec.count] if spec.count else []), *spec.keys, *spec.derived} | {c for g in spec.totals for c in g if not c.startswith("_")}
    missing = sorted(needed - set(frame.columns))
    if missing:
        raise DisclosureError(f"marts/{mart}: its disclosure treatment names column(s) {missing} that it no longer has; "
                              f"update TREATMENTS in pipeline/publish/disclosure.py")
    if spec.coarsen is not None:
        frame = frame.group_by(list(spec.coarsen)).agg(pl.col(spec.count).sum()).sort(list(spec.coarsen))
    if spec.extra is not None:
        frame = spec.extra(frame)
    reasons = [(spec.withheld.fill_null(False), WITHHELD)] if spec.withheld is not None else []
    if spec.count is not None:
        sources = spec.sources(frame) if callable(spec.sources) else pl.Series([",".join(spec.sources)] * frame.height, dtype=pl.String)
        by_source = {s: rules.rule([x for x in s.split(",") if x]) for s in sources.unique().to_list()}
        frame = frame.with_columns(
            sources.replace_strict({s: r.threshold for s, r in by_source.items()}, return_dtype=pl.Int64).alias("_threshold"),
            sources.replace_strict({s: r.rounding for s, r in by_source.items()}, return_dtype=pl.Int64).alias("_rounding"),
        )
        n = pl.col(spec.count)
        reasons.append(((n > 0) & (n < pl.col("_threshold")), SUPPRESSED))
    status = pl.lit(None, pl.String)
    for condition, label in reversed(reasons):  # the first reason that applies
        status = pl.when(condition).then(pl.lit(label)).otherwise(status)
    frame = frame.with_columns(status.alias(STATUS))
    if spec.count is not None and rules.secondary and spec.totals:
        frame = _secondary(frame, spec.count, spec.totals)
    shown = pl.col(STATUS).is_null()
    counts = [pl.when(shown).then(_round(n, pl.col("_rounding")).cast(frame.schema[spec.count])).alias(spec.count)] if spec.count else []
    frame = frame.with_columns(*counts, *(pl.when(shown).then(pl.col(c)).alias(c) for c in spec.derived))
    return frame.drop(c for c in frame.columns if c.startswith("_"))


def rule_text(rules: Disclosure) -> str:
    """The disclosure rule in words, for the manifest and the methods note."""
    text = (f"counts from 1 to {rules.threshold - 1} are shown as {SUPPRESSED}; zero is shown"
            + (f"; counts are rounded to the nearest {rules.rounding}" if rules.rounding else "")
            + ("; further cells are hidden so that none can be worked out from a total" if rules.secondary else "")
            + "; rates and percentages are hidden with their count")
    overrides = [f"{name}: 1 to {r.threshold - 1} hidden" + (f", others rounded to {r.rounding}" if r.rounding else "")
                 for name, r in sorted(rules.sources.items())]
    return text + (" (" + "; ".join(overrides) + ")" if overrides else "")


def by_partnership(spec: Treatment) -> bool:
    """Whether one partnership's rows are controlled alone exactly as within the whole mart: every group of cells
    adding up to a total lies within one partnership (true of every treatment today; tests/unit/test_disclosure.py)."""
    return all("partnership_id" in group for group in spec.totals) and (spec.coarsen is None or "partnership_id" in spec.coarsen)


def public_marts(marts_dir: Path, out_dir: Path, marts: Sequence[str], rules: Disclosure,
                 partnerships: Sequence[str] | None = None) -> Path:
    """Write the disclosure-controlled copy of each named mart (`marts/<name>` or `<name>`) into out_dir; with
    `partnerships`, of those partnerships' rows alone (a run publishing one partnership of a national warehouse)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in marts:
        name = name.removeprefix("marts/")
        spec = treatment(name)  # refuse before reading anything
        source = marts_dir / f"{name}.parquet"
        if not source.is_file():
            raise DisclosureError(f"marts/{name}: {source} not found; build the marts before publishing")
        rows = pl.scan_parquet(source)
        if partnerships is not None and "partnership_id" in rows.collect_schema() and by_partnership(spec):
            rows = rows.filter(pl.col("partnership_id").is_in(list(partnerships)))
        controlled = suppress(rows.collect(), name, rules)
        target = out_dir / f"{name}.parquet"
        # a name of its own: documents rendered side by side (Celery workers) write the same copies at once
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
        controlled.write_parquet(partial)
        os.replace(partial, target)
    return out_dir

