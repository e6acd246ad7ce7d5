"""Which months a run rebuilds: those of the extracts not landed yet, found before the run starts.

A Dagster run covers a range of quarters fixed when it starts (pipeline/partitions.py), but the months a dropped
file holds are known only from its rows: a partner's extract may cover any period. So before a run each new
file is read once for its period column alone (`file_months`, remembered for the process by path, size and
modification time, so the run's own landing does not read it for that again).

The run covers from the earliest month a new file holds to the latest month of any landed or new file: a
correction to an old month can change which row of a later month counts first (deduplication) or repeats an
earlier one (repeat referrals), and those later months are rebuilt with it. A new month beyond the last is
that month alone. Every landed month is covered when partnership.yaml changed since the last successful run
(`rebuild`), or when asked (`csp run --rebuild`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from pipeline import partitions
from pipeline.config import SourceSettings
from pipeline.ingest.landing import candidate_files, content_id, open_table, parse_context
from pipeline.ingest.parse import map_headings, parse_table
from pipeline.ingest.readers import FileRefused, NotStreamable
from pipeline.sources import SOURCES, Source
from pipeline.workspace import Workspace

CONFIG_BUILD = "(partnership.yaml)"  # raw._builds row: the configuration of the last successful run
BUILT = "built:"  # raw._builds rows `built:<source>`: when a run last built everything partitioned the source feeds
BUILT_TAG = "csp/built"  # a run's tag: the sources it builds over all their pending months (comma-separated)
EVERYTHING_TAG = "csp/builds-everything"  # a run's tag: it builds every partitioned table with this partnership.yaml


@dataclass(frozen=True)
class Plan:
    """What a run covers: the months of the partitioned assets (None: nothing new to land), and why."""

    first: date | None
    last: date | None
    new_files: dict[str, list[str]]  # source -> names of files not landed yet
    why: str
    unbuilt: tuple[str, ...] = ()  # sources with months landed since a run last built what they feed
    rebuild: bool = False  # every partitioned table, not only those the new files feed
    first_build: bool = False  # nothing was landed before
    built: tuple[str, ...] = ()  # set by the run: sources whose partitioned tables it builds over all their pending months
    covers_everything: bool = False  # set by the run: it builds every partitioned table (pipeline/cli.py plan_run)

    @property
    def months(self) -> tuple[date, date] | None:
        return (self.first, self.last) if self.first else None

    def fed(self):
        """The assets the new files feed: their sources' raw assets and everything downstream."""
        import dagster as dg

        return dg.AssetSelection.assets(*(dg.AssetKey(["raw", name]) for name in self.sources)).downstream()

    def scoped(self, chosen: set, graph) -> "Plan":
        """This plan for a run that builds the assets `chosen`: which sources' pending months it builds in full
        (every partitioned table they feed), and whether it builds every partitioned table."""
        import dagster as dg

        partitioned = {k for k in graph.get_all_asset_keys() if graph.get(k).partitions_def is not None}
        names = [n for n, s in SOURCES.items() if s.partitioned] if self.rebuild else self.sources
        built = [n for n in names if dg.AssetSelection.assets(dg.AssetKey(["raw", n])).downstream().resolve(graph) & partitioned <= chosen]
        return dataclasses.replace(self, built=tuple(built), covers_everything=(self.rebuild or self.first_build) and partitioned <= chosen)

    def tags(self) -> dict[str, str]:
        """The run's tags: its quarters, and what it builds in full (read back by `record_run` when it succeeds)."""
        return {**partitions.range_tags(self.first, self.last), BUILT_TAG: ",".join(self.built),
                **({EVERYTHING_TAG: "true"} if self.covers_everything else {})}

    @property
    def sources(self) -> list[str]:
        """The sources whose new or unbuilt months the run covers."""
        return sorted({*self.new_files, *self.unbuilt})


def file_months(path: Path, source: Source, settings: SourceSettings) -> frozenset[date] | None:
    """The months the file's rows fall in (its period column, as landing reads it); None when the file cannot be
    read, which landing will refuse with the reason."""
    stat = path.stat()
    return _months(path, stat.st_size, stat.st_mtime_ns, source.name, settings.model_dump_json())


@lru_cache(maxsize=8192)
def _months(path: Path, size: int, modified: int, source_name: str, settings_json: str) -> frozenset[date] | None:
    source, settings = SOURCES[source_name], SourceSettings.model_validate_json(settings_json)
    period = source.column(source.period_column)
    try:
        table = open_table(path, source, settings)  # a large CSV streamed, as landing reads it
        mapping, _ = map_headings(source, table, settings.aliases, path, settings.constants)
        if period.derive is None:  # type the period column alone; a derived one needs the columns it comes from
            source = dataclasses.replace(source, columns=(period,), keys=(), rules=())
            mapping = {k: v for k, v in mapping.items() if k == period.name}
        ctx = parse_context(date.today(), lambda ids: ids)
        try:
            parsed = parse_table(source, table, mapping, ctx, settings.constants)
        except NotStreamable:  # e.g. a stray quote: the careful reader, on the whole file
            parsed = parse_table(source, open_table(path, source, settings, whole=True), mapping, ctx, settings.constants)
    except FileRefused:
        return None
    except Exception:  # a damaged file: landing refuses it and says why
        return None
    months = parsed.staging.con.execute(
        f'SELECT DISTINCT year("{period.name}"), month("{period.name}") FROM staged WHERE "{period.name}" IS NOT NULL').fetchall()
    parsed.staging.con.close()
    return frozenset(date(year, month, 1) for year, month in months)


def known_files(con) -> set[tuple[str, str]]:
    """(source, file id) of every file landed, refused or held: not new."""
    tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw'").fetchall()}
    union = " UNION ".join(f"SELECT source, file_id FROM raw.{t}" for t in ("_manifest", "_refusals", "_held") if t in tables)
    return set(con.execute(union).fetchall()) if union else set()


def _known_ids(ws: Workspace) -> set[tuple[str, str]]:
    if not ws.database.exists():
        return set()
    with ws.connect(read_only=True) as con:
        return known_files(con)


def _landed_span(ws: Workspace, sources: list[str]) -> tuple[date | None, date | None]:
    """The first and last month landed of these sources."""
    if not ws.database.exists():
        return None, None
    with ws.connect(read_only=True) as con:
        if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'raw' AND table_name = '_manifest'").fetchone()[0]:
            return None, None
        return con.execute("SELECT min(period_from), max(period_to) FROM raw._manifest WHERE list_contains(?, source)",
                           [sources]).fetchone()


def config_changed(ws: Workspace) -> bool:
    """Whether partnership.yaml differs from the one of the last successful run (or there was none)."""
    if not ws.database.exists():
        return True
    with ws.connect(read_only=True) as con:
        if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'raw' AND table_name = '_builds'").fetchone()[0]:
            return True
        row = con.execute("SELECT fingerprint FROM raw._builds WHERE target = ?", [CONFIG_BUILD]).fetchone()
    return row is None or row[0] != _config_fingerprint(ws)


def _config_fingerprint(ws: Workspace) -> str:
    return partitions.fingerprint(ws.config_path.read_text(encoding="utf-8"))


def record_run(ws: Workspace, tags: dict[str, str], finished: datetime) -> None:
    """After a successful run (by `csp run` or by the daemon: pipeline/sensors.py): from its tags, the sources whose
    partitioned tables it built over all their pending months, and (when it built every partitioned table) the
    configuration it ran with, as of when it finished."""
    built = [name for name in tags.get(BUILT_TAG, "").split(",") if name]
    configuration = tags.get(EVERYTHING_TAG) == "true"
    with ws.connect() as con:
        con.execute(partitions.BUILDS_DDL)
        rows = [[f"{BUILT}{name}", "", finished] for name in built]
        rows += [[CONFIG_BUILD, _config_fingerprint(ws), finished]] if configuration else []
        if rows:
            con.executemany("INSERT OR REPLACE INTO raw._builds VALUES (?, ?, ?)", rows)


def _unbuilt(ws: Workspace, sources: list[str]) -> dict[str, set[date]]:
    """The months of files landed since a run last built what their source feeds: landed by `csp check` or
    `csp accept`, or by a run that failed before the rest was built."""
    if not ws.database.exists():
        return {}
    with ws.connect(read_only=True) as con:
        tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw'").fetchall()}
        if "_manifest" not in tables:
            return {}
        built = "LEFT JOIN raw._builds AS b ON b.target = ? || m.source" if "_builds" in tables else ""
        rows = con.execute(
            f"""SELECT m.source, m.period_from, m.period_to FROM raw._manifest AS m {built}
                WHERE list_contains(?, m.source) AND m.period_from IS NOT NULL
                  {"AND (b.built_at IS NULL OR m.loaded_at > b.built_at)" if built else ""}""",
            [BUILT, sources] if built else [sources]).fetchall()
    found: dict[str, set[date]] = {}
    for name, first, last in rows:
        month = first
        while month <= last:
            found.setdefault(name, set()).add(month)
            month = partitions.month_after(month)
    return found


def plan(ws: Workspace, sources: list[str] | None = None, rebuild: bool = False) -> Plan:
    """The months the next run covers, for `sources` (default: every source the workspace reads)."""
    config = ws.config()
    known = _known_ids(ws)
    new: dict[str, list[str]] = {}
    months: set[date] = set()
    unreadable = False
    for name in sources or list(SOURCES):
        source, settings = SOURCES[name], config.source(name)
        if settings.enabled is False:
            continue
        for path in candidate_files(ws.source_folder(config, name), source):
            try:
                if (name, content_id(path)) in known:
                    continue
            except OSError:  # a dangling link or unreadable entry: landing refuses it
                pass
            new.setdefault(name, []).append(path.name)
            if not source.partitioned:  # lands whatever the run's quarters (population estimates)
                continue
            found = file_months(path, source, settings) if path.is_file() else None
            unreadable |= not found
            months |= found or set()
    partitioned = [name for name, source in SOURCES.items() if source.partitioned]
    first_landed, last_landed = _landed_span(ws, partitioned)
    rebuild = rebuild or (first_landed is not None and config_changed(ws))  # nothing landed: nothing to rebuild
    if rebuild and (first_landed or months):
        first = min(filter(None, [first_landed, *months]))
        last = max(filter(None, [last_landed, *months]))
        why = "every month landed" + ("" if new else "; nothing new to land")
        return Plan(_clamp(first), _clamp(last), new, why, rebuild=True)
    unbuilt = _unbuilt(ws, [name for name in (sources or partitioned) if name in partitioned])
    pending = months | set().union(*unbuilt.values())
    if pending:  # to the last month landed of those sources: a correction can change their later rows
        last_landed = _landed_span(ws, sorted({*new, *unbuilt} & set(partitioned)))[1]
        first, last = min(pending), max([*pending, *([last_landed] if last_landed else [])])
        why = ", ".join(filter(None, [
            f"the months of {sum(map(len, new.values()))} new file(s)" if new else "",
            f"months landed but not yet built ({', '.join(sorted(unbuilt))})" if unbuilt else ""]))
        why += " and every later month landed" if last > max(pending) else ""
        return Plan(_clamp(first), _clamp(last), new, why, unbuilt=tuple(sorted(unbuilt)), first_build=first_landed is None)
    if unreadable or new:  # only files landing will refuse, or unpartitioned sources': the last quarter, to run landing
        first = last = _landed_span(ws, sorted(set(new) & set(partitioned)))[1] or date.today().replace(day=1)
        why = "new files without months of their own" + (" (some cannot be read: landing refuses them)" if unreadable else "")
        return Plan(_clamp(first), _clamp(last), new, why)
    return Plan(None, None, new, "nothing new to land")


def _clamp(month: date) -> date:
    """Within the partitions that exist: from FIRST_MONTH to the current month."""
    lowest, highest = date.fromisoformat(partitions.FIRST_MONTH), date.today().replace(day=1)
    return min(max(month, lowest), highest)
