"""Whether each source's quarters have arrived on time: a Dagster asset check `freshness` on every raw/<source>,
and the same facts for `csp check` and `csp status`.

Dagster's own freshness checks and policies measure when an asset was last materialised, but a partner's
extract can be landed today and still be a quarter short. So these checks read marts.mart_submissions, the one
home of when a quarter is due (`lag_months` after it ends) and whether it is overdue on the run's "as of" day
(`csp run --as-of`, CSP_AS_OF, else the run's day). They are WARN and never block: an overdue source does not
stop the documents (their appendix says what is missing); `csp run --strict` makes it the exit status instead.
"""

from dataclasses import dataclass, field
from datetime import date

import dagster as dg

from pipeline.models.sql_assets import as_of
from pipeline.quality.report import table_exists
from pipeline.resources import WorkspaceResource
from pipeline.sources import SOURCES

SUBMISSIONS = dg.AssetKey(["marts", "mart_submissions"])
CHECK_NAME = "freshness"


@dataclass
class Freshness:
    """One source in this workspace: how often it arrives, what has been landed and which quarters are late."""

    source: str
    cadence: str
    lag_months: int
    expected_because: str | None  # None: the workspace does not expect it, so it is never overdue
    landed_to: date | None = None  # the last month landed (raw._manifest, as `csp status` shows it)
    latest_received: str | None = None  # the latest quarter received, e.g. "2024/25 Q3"
    overdue: list[str] = field(default_factory=list)  # quarters due and not received, oldest first
    next_due: tuple[str, date] | None = None  # the next quarter to become due, and its day


def read_freshness(con) -> dict[str, Freshness]:
    """Every source of reference.sources, with its quarters from marts.mart_submissions as last built (empty
    before the first build)."""
    if not table_exists(con, "reference", "sources"):
        return {}
    found = {name: Freshness(name, cadence, lag, because) for name, cadence, lag, because in con.execute(
        "SELECT source, cadence, lag_months, expected_because FROM reference.sources ORDER BY source").fetchall()}
    if table_exists(con, "raw", "_manifest"):
        for name, last in con.execute("SELECT source, max(period_to) FROM raw._manifest GROUP BY source").fetchall():
            if name in found:
                found[name].landed_to = last
    if not table_exists(con, "marts", "mart_submissions"):
        return found
    for name, overdue, received, upcoming, due_by in con.execute(
        """SELECT source,
                  list(quarter_label ORDER BY quarter_start) FILTER (WHERE status = 'overdue'),
                  arg_max(quarter_label, quarter_start) FILTER (WHERE status = 'received'),
                  arg_min(quarter_label, due_by) FILTER (WHERE status = 'not yet due'),
                  min(due_by) FILTER (WHERE status = 'not yet due')
           FROM marts.mart_submissions GROUP BY source"""
    ).fetchall():
        if name in found:
            found[name].overdue, found[name].latest_received = overdue or [], received
            found[name].next_due = (upcoming, due_by) if upcoming else None
    return found


def overdue_text(labels: list[str]) -> str:
    """What `csp check`, `csp status` and the check say of a source's overdue quarters."""
    span = f"{labels[0]} to {labels[-1]}" if len(labels) > 1 else labels[0]
    return f"{len(labels)} quarter(s) not received, {span}"


def _arrives(cadence: str, lag_months: int) -> str:
    return "ad hoc: never overdue" if cadence == "ad hoc" else f"{cadence}, each quarter due {lag_months} months after it ends"


def _spec(name: str) -> dg.AssetCheckSpec:
    source = SOURCES[name]
    return dg.AssetCheckSpec(
        CHECK_NAME,
        asset=dg.AssetKey(["raw", name]),
        additional_deps=[SUBMISSIONS],  # judged after this run's submissions mart, on its "as of" day
        blocking=False,
        description=(f"Whether {source.title} ({name}) has arrived on time: {_arrives(source.cadence, source.lag_months)} "
                     f"(partnership.yaml sources.{name}.cadence and lag_months override). Reads marts.mart_submissions; "
                     "a quarter due and not received is a warning, and blocks nothing (`csp run --strict` exits 1)."),
    )


def _result(key: dg.AssetCheckKey, f: Freshness | None, judged: str) -> dg.AssetCheckResult:
    name = key.asset_key.path[-1]
    heading = f"{key.asset_key.to_user_string()} freshness"
    if f is None:
        return dg.AssetCheckResult(
            asset_key=key.asset_key, check_name=key.name, passed=False, severity=dg.AssetCheckSeverity.WARN,
            description=f"{heading}\n{name}: not judged: reference.sources has no row for it yet (run `csp run`)")
    if not f.expected_because:
        verdict = f"{name}: not expected in this workspace (neither enabled in partnership.yaml nor with files in raw/)"
    elif f.overdue:
        verdict = f"{name}: {overdue_text(f.overdue)}"
    else:
        verdict = f"{name}: up to date" + (f", latest quarter received {f.latest_received}" if f.latest_received else "")
    if f.expected_because and f.next_due:
        verdict += f"; {f.next_due[0]} is due by {f.next_due[1]:%Y-%m-%d}"
    return dg.AssetCheckResult(
        asset_key=key.asset_key,
        check_name=key.name,
        passed=not f.overdue,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{heading}: {_arrives(f.cadence, f.lag_months)}\n{verdict}",
        metadata={
            "cadence": f.cadence,
            "lag_months": f.lag_months,
            "expected_because": f.expected_because or "not expected",
            "landed_to": f"{f.landed_to:%Y-%m}" if f.landed_to else "nothing landed",
            "latest_quarter_received": f.latest_received or "none",
            "overdue_quarters": dg.MetadataValue.json(f.overdue),
            "next_due": f"{f.next_due[0]} by {f.next_due[1]:%Y-%m-%d}" if f.next_due else "none in the reporting period",
            "judged": judged,
        },
    )


@dg.multi_asset_check(
    name=CHECK_NAME,
    specs=[_spec(name) for name in SOURCES],
    can_subset=True,
    description="Each raw source's quarters due and not received (marts.mart_submissions): WARN, never blocking",
)
def freshness_checks(context: dg.AssetCheckExecutionContext, workspace: WorkspaceResource):
    ws = workspace.get()
    found: dict[str, Freshness] = {}
    if ws.database.exists():
        with ws.connect(read_only=True) as con:
            found = read_freshness(con)
    built = context.instance.get_latest_materialization_event(SUBMISSIONS)
    judged = (f"as of {as_of():%Y-%m-%d} (marts.mart_submissions rebuilt by this run)"
              if built is not None and built.run_id == context.run.run_id else
              "as of the day marts.mart_submissions was last built" + (f" (run {built.run_id[:8]})" if built else ": never"))
    for key in sorted(context.selected_asset_check_keys, key=str):
        yield _result(key, found.get(key.asset_key.path[-1]), judged)


CHECKS = [freshness_checks]
