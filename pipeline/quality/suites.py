"""The one small runner for data-quality suites: GX 1.x ExpectationSuite JSON files, validated in DuckDB by GX.

A suite is one JSON file in expectations/, named `<layer>.<name>.json`, in Great Expectations' own
ExpectationSuite format plus two keys of ours under `meta.csp`: the asset it checks (`raw/police_street`)
and the DuckDB SELECT that produces the rows to validate. Every expectation says its severity in
`meta.severity` ("error", the default, or "warn"). See docs/quality.md.

Nothing here passes silently: an unknown expectation type, kwargs GX refuses, a bad severity, a malformed
file, a batch that reads an unset variable, an expectation GX could not evaluate and a missing Great
Expectations install are all errors (SuiteError) or failed outcomes, never passes.

GX validates through its SQL execution engine on the caller's DuckDB connection (pipeline.quality.gx_duckdb):
DuckDB computes the metrics where the rows are, and no table is copied into pandas. Great Expectations takes
seconds to import, so it is imported inside the functions that need it, and one ephemeral GX context is made per
process and reused.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.paths import EXPECTATIONS_DIR, PROJECT_ROOT

if TYPE_CHECKING:
    import duckdb

SEVERITIES = ("error", "warn")
_GX_SEVERITY = {"error": "critical", "warn": "warning"}
_SUITE_KEYS = {"name", "expectations", "meta", "notes", "id", "suite_parameters"}
_EXPECTATION_KEYS = {"type", "kwargs", "meta", "notes", "id", "description", "rendered_content"}
_ASSET = re.compile(r"^[a-z][a-z0-9_]*/[a-z][a-z0-9_]*$")
_FILE_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
_VARIABLE = re.compile(r"getvariable\(\s*'([A-Za-z_][A-Za-z0-9_]*)'\s*\)")
_EXAMPLES = 5  # distinct failing values reported per expectation
_INDEX_KEY = "csp_index"  # put in each GX expectation's meta to pair results with expectations


class SuiteError(Exception):
    """A suite cannot be run: malformed file, unknown expectation type, bad kwargs or severity, GX missing.

    Always an error, never a pass."""


@dataclass(frozen=True)
class Suite:
    name: str  # the file's stem, e.g. "raw.police_street"
    path: Path
    asset: str  # the asset it checks, e.g. "raw/police_street"
    batch: str  # a DuckDB SELECT producing the rows to validate (may use getvariable('period_start'))
    expectations: tuple[dict, ...]  # each {"type", "kwargs", "meta": {"severity": "error"|"warn", ...}}

    @property
    def label(self) -> str:
        return _display(self.path)


@dataclass
class ExpectationOutcome:
    type: str
    column: str | None
    severity: str
    success: bool
    observed: object
    threshold: str
    unexpected_count: int | None
    examples: list
    description: str


@dataclass
class SuiteOutcome:
    suite: Suite
    outcomes: list[ExpectationOutcome]
    rows: int
    seconds: float

    @property
    def errors(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "error"]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "warn"]

    @property
    def passed(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        """A few lines for a log or a Dagster description: the failed expectations, errors first."""
        head = (
            f"{self.suite.name} on {self.suite.asset}: {len(self.outcomes)} expectations, {self.rows:,} rows, "
            f"{len(self.errors)} error(s), {len(self.warnings)} warning(s), {self.seconds:.2f} s"
        )
        lines = [head]
        for outcome in self.errors + self.warnings:
            lines.append(f"  {outcome.severity.upper()} {outcome.description}: {outcome.observed}"
                         + (f"; e.g. {', '.join(map(repr, outcome.examples))}" if outcome.examples else ""))
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------- GX access


def _gx():
    """Great Expectations, imported on first use; its absence is an error, never a skipped check."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    try:
        import great_expectations as gx
        from great_expectations.expectations.registry import get_expectation_impl, list_registered_expectation_implementations
    except Exception as exc:  # ImportError, or a broken install failing part-way through its import
        raise SuiteError(
            f"Great Expectations cannot be imported ({type(exc).__name__}: {exc}); data-quality suites cannot run. "
            "Install the locked packages (make install)."
        ) from exc
    known = list_registered_expectation_implementations()
    if len(known) < 20:  # the core expectations register on import; an empty registry would make every type "unknown"
        raise SuiteError(f"Great Expectations registered only {len(known)} expectation types; the install looks broken")
    return gx, get_expectation_impl, known


_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _context():
    """ONE ephemeral GX context per process, without progress bars or analytics."""
    gx, _, _ = _gx()
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


@lru_cache(maxsize=1)
def _batch_definition():
    """The context's DuckDB datasource, whose one batch definition reads the batch of the suite being run."""
    from pipeline.quality.gx_duckdb import batch_definition

    return batch_definition(_context())


def known_expectation_types() -> list[str]:
    """Every expectation type GX's registry knows, sorted."""
    return sorted(_gx()[2])


# --------------------------------------------------------------------------------------------- loading


def load_suites(folder: Path = EXPECTATIONS_DIR) -> list[Suite]:
    """Every `*.json` suite in `folder`, sorted by name; any bad file raises SuiteError naming it."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SuiteError(f"{folder} is not a folder of expectation suites")
    return [load_suite(path) for path in sorted(folder.glob("*.json"))]


def load_suite(path: Path) -> Suite:
    """Read and check one suite file; GX builds every expectation, so bad kwargs are found here, not at run time."""
    path = Path(path)
    where = _display(path)
    if not _FILE_NAME.match(path.stem):
        raise SuiteError(f"{where}: a suite file is named <layer>.<name>.json, such as raw.police_street.json")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SuiteError(f"{where}: cannot be read ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise SuiteError(f"{where}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    if not isinstance(document, dict):
        raise SuiteError(f"{where}: expected a JSON object (a GX ExpectationSuite), found {type(document).__name__}")
    extra = sorted(set(document) - _SUITE_KEYS)
    if extra:
        raise SuiteError(f"{where}: unknown key(s) {', '.join(map(repr, extra))}; a suite has {', '.join(sorted(_SUITE_KEYS))}")
    name = document.get("name")
    if name != path.stem:
        raise SuiteError(f"{where}: \"name\" is {name!r}; it must be the file's name without .json, {path.stem!r}")
    csp = (document.get("meta") or {}).get("csp") if isinstance(document.get("meta"), dict) else None
    if not isinstance(csp, dict):
        raise SuiteError(f"{where}: meta.csp is missing; it names the asset checked and the batch query, "
                         "e.g. {\"meta\": {\"csp\": {\"asset\": \"raw/police_street\", \"batch\": \"SELECT ...\"}}}")
    asset = csp.get("asset")
    if not isinstance(asset, str) or not _ASSET.match(asset):
        raise SuiteError(f"{where}: meta.csp.asset is {asset!r}; expected <layer>/<name>, such as 'raw/police_street'")
    if asset.split("/")[0] != name.split(".")[0]:
        raise SuiteError(f"{where}: the file's layer {name.split('.')[0]!r} differs from meta.csp.asset's layer {asset.split('/')[0]!r}")
    batch = csp.get("batch")
    if isinstance(batch, list):  # a long query may be written as a list of lines
        batch = "\n".join(batch) if all(isinstance(line, str) for line in batch) else None
    if not isinstance(batch, str) or not re.match(r"^\s*(SELECT|WITH|FROM)\b", _strip_comments(batch), re.IGNORECASE):
        raise SuiteError(f"{where}: meta.csp.batch must be a DuckDB SELECT (a string, or a list of lines)")
    raw = document.get("expectations")
    if not isinstance(raw, list) or not raw:
        raise SuiteError(f"{where}: \"expectations\" must be a non-empty list")
    expectations = tuple(_normalise(where, index, item) for index, item in enumerate(raw, start=1))
    suite = Suite(name=name, path=path, asset=asset, batch=batch.strip().rstrip(";"), expectations=expectations)
    _gx_suite(suite)  # GX checks every expectation's kwargs
    return suite


def _strip_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


def _normalise(where: str, index: int, item: Any) -> dict:
    at = f"{where}: expectation {index}"
    if not isinstance(item, dict):
        raise SuiteError(f"{at}: expected an object with \"type\", \"kwargs\" and \"meta\", found {type(item).__name__}")
    extra = sorted(set(item) - _EXPECTATION_KEYS)
    if extra:
        hint = " (write the severity in meta.severity: 'error' or 'warn')" if "severity" in extra else ""
        raise SuiteError(f"{at}: unknown key(s) {', '.join(map(repr, extra))}{hint}")
    kind = item.get("type")
    if not isinstance(kind, str) or not kind:
        raise SuiteError(f"{at}: \"type\" is missing")
    _, _, known = _gx()
    if kind not in known:
        near = difflib.get_close_matches(kind, known, n=1, cutoff=0.6)
        hint = f" (did you mean {near[0]}?)" if near else "; see known_expectation_types()"
        raise SuiteError(f"{at}: unknown type {kind!r}{hint}")
    kwargs = item.get("kwargs", {})
    meta = item.get("meta", {})
    if not isinstance(kwargs, dict):
        raise SuiteError(f"{at} ({kind}): \"kwargs\" must be an object")
    if not isinstance(meta, dict):
        raise SuiteError(f"{at} ({kind}): \"meta\" must be an object")
    severity = meta.get("severity", "error")
    if severity not in SEVERITIES:
        raise SuiteError(f"{at} ({kind}): meta.severity is {severity!r}; expected 'error' or 'warn'")
    meta = {**meta, "severity": severity}
    if item.get("description") and "description" not in meta:
        meta["description"] = item["description"]
    return {"type": kind, "kwargs": dict(kwargs), "meta": meta}


def _gx_expectations(suite: Suite) -> list:
    """GX Expectation objects, one per entry, each carrying its index; GX's own validation errors become SuiteError."""
    _, get_impl, _ = _gx()
    built = []
    for index, item in enumerate(suite.expectations, start=1):
        cls = get_impl(item["type"])
        meta = {**item["meta"], _INDEX_KEY: index - 1}
        try:
            built.append(cls(**item["kwargs"], meta=meta, severity=_GX_SEVERITY[item["meta"]["severity"]]))
        except Exception as exc:  # pydantic's ValidationError, or an InvalidExpectationConfigurationError
            detail = "; ".join(line.strip() for line in str(exc).splitlines()[1:] if line.strip()) or str(exc)
            raise SuiteError(f"{suite.label}: expectation {index} ({item['type']}): GX refused its kwargs: {detail}") from exc
    return built


def _gx_suite(suite: Suite, expectations: list | None = None):
    """The GX ExpectationSuite of `expectations` (GX Expectation objects; default: all of the suite's)."""
    gx, _, _ = _gx()
    members = _gx_expectations(suite) if expectations is None else expectations
    built = gx.ExpectationSuite(name=suite.name, expectations=members)
    if len(built.expectations) != len(members):  # GX logs and drops what it cannot add: never silently
        raise SuiteError(f"{suite.label}: GX kept {len(built.expectations)} of {len(members)} expectations")
    return built


# --------------------------------------------------------------------------------------------- running


_RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 20}


def run_suite(con: "duckdb.DuckDBPyConnection", suite: Suite) -> SuiteOutcome:
    """Validate the suite's batch with GX's SQL execution engine on `con`: DuckDB computes every metric where the
    rows are, and only counts and the first failing values come back (pipeline.quality.gx_duckdb).

    GX asks for each expectation's failing values (its partial unexpected list) in a query of its own, which
    scans the whole batch when nothing fails. So the suite is validated first for its counts only (every
    count in one scan of the batch), then again, with failing values, for the expectations that found any.
    """
    _gx()  # first: a missing GX is a SuiteError, not an ImportError
    from great_expectations.validator.v1_validator import Validator  # what Batch.validate itself builds

    from pipeline.quality.gx_duckdb import BATCH_VIEW, validating

    started = time.perf_counter()
    check_variables(con, suite)
    expectations = _gx_expectations(suite)

    def validate(members: list, result_format: dict) -> dict[int, Any]:
        validator = Validator(batch_definition=_batch_definition(), result_format=result_format)
        return _by_index(validator.validate_expectation_suite(_gx_suite(suite, members)).results)

    with _LOCK, validating(con, suite):
        results = validate(expectations, {**_RESULT_FORMAT, "partial_unexpected_count": 0})
        found = [i for i, item in results.items() if (item.result or {}).get("unexpected_count")]
        if found:
            results.update(validate([expectations[i] for i in found], _RESULT_FORMAT))
        rows = con.execute(f"SELECT count(*) FROM {BATCH_VIEW}").fetchall()[0][0]
    return _outcomes(suite, results, rows, time.perf_counter() - started)


def check_variables(con: "duckdb.DuckDBPyConnection", suite: Suite) -> None:
    """A batch reading an unset variable would validate nothing (getvariable gives NULL): refuse instead."""
    for name in sorted(set(_VARIABLE.findall(suite.batch))):
        if con.execute(f"SELECT getvariable('{name}')").fetchall()[0][0] is None:
            raise SuiteError(
                f"{suite.label}: the batch reads getvariable('{name}'), which is not set on this connection; "
                f"run SET VARIABLE {name} = ... first (pipeline.models.sql_assets.run_settings gives the run's values)"
            )


def _by_index(results: list) -> dict[int, Any]:
    """GX's results by the index of the suite's expectation each answers (set in its meta by _gx_expectations)."""
    return {(item.expectation_config.meta or {}).get(_INDEX_KEY): item for item in results}


def _outcomes(suite: Suite, by_index: dict[int, Any], rows: int, seconds: float) -> SuiteOutcome:
    """The suite's outcomes, in its order; an expectation without a result from GX has failed."""
    outcomes = []
    for index, spec in enumerate(suite.expectations):
        item = by_index.get(index)
        if item is None:  # GX returned no result for it: a failure, not a pass
            outcomes.append(_outcome(spec, False, "no result from GX", None, []))
            continue
        outcomes.append(_from_result(spec, item))
    return SuiteOutcome(suite=suite, outcomes=outcomes, rows=rows, seconds=seconds)


def _from_result(spec: dict, item) -> ExpectationOutcome:
    info = item.exception_info or {}
    raised = bool(info.get("raised_exception")) if isinstance(info, dict) else False
    if not raised and isinstance(info, dict):  # GX 1.x nests per-metric exception infos under their ids
        raised = any(isinstance(v, dict) and v.get("raised_exception") for v in info.values())
    result = item.result or {}
    if raised:
        message = info.get("exception_message") or next(
            (v.get("exception_message") for v in info.values() if isinstance(v, dict) and v.get("exception_message")), "unknown")
        return _outcome(spec, False, f"could not be evaluated: {message}", None, [])
    success = bool(item.success)
    if "observed_value" in result:
        observed = _plain(result["observed_value"])
        details = (result.get("details") or {}).get("mismatched")
        if details:
            observed = {"observed": observed, **_plain(details)}
        examples = list((details or {}).get("missing", [])) if details else []
        return _outcome(spec, success, observed, None, examples)
    unexpected = result.get("unexpected_count")
    element_count = result.get("element_count")
    if unexpected is None:
        return _outcome(spec, success, _plain(result) or None, None, [])
    if spec["type"] in ("expect_column_values_to_not_be_null", "expect_column_values_to_be_null"):
        considered, noun = element_count, "rows"
    else:
        considered, noun = (element_count or 0) - (result.get("missing_count") or 0), "non-null values"
    share = f" ({100 * unexpected / considered:.2f}%)" if considered else ""
    observed = f"{unexpected:,} of {considered:,} {noun} unexpected{share}"
    return _outcome(spec, success, observed, int(unexpected), _examples(result.get("partial_unexpected_list") or []))


def _outcome(spec: dict, success: bool, observed, unexpected, examples) -> ExpectationOutcome:
    kwargs = spec["kwargs"]
    return ExpectationOutcome(
        type=spec["type"],
        column=column_of(kwargs),
        severity=spec["meta"]["severity"],
        success=success,
        observed=observed,
        threshold=threshold(spec["type"], kwargs),
        unexpected_count=unexpected,
        examples=examples,
        description=spec["meta"].get("description") or describe(spec["type"], kwargs),
    )


def _examples(values: list) -> list:
    out: list = []
    for value in values:
        value = _plain(value)
        if value not in out:
            out.append(value)
        if len(out) == _EXAMPLES:
            break
    return out


def _plain(value):
    """JSON-friendly values: numpy scalars, timestamps and NaN become plain Python."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, TypeError):
            pass
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, datetime) and value.hour == value.minute == value.second == value.microsecond == 0:
        return value.date().isoformat()
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


# --------------------------------------------------------------------------------------------- wording


def column_of(kwargs: dict) -> str | None:
    if "column" in kwargs:
        return kwargs["column"]
    if "column_list" in kwargs:
        return ", ".join(kwargs["column_list"])
    if "column_A" in kwargs:
        return f"{kwargs['column_A']}, {kwargs.get('column_B')}"
    return None


def _number(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def threshold(kind: str, kwargs: dict) -> str:
    """The expectation's condition in a few words: "between 0 and 100", "in set of 16 values", "mostly 0.99"."""
    if kind.endswith("_to_be_between"):
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        above = "more than" if kwargs.get("strict_min") else "at least"
        below = "less than" if kwargs.get("strict_max") else "at most"
        if low is not None and high is not None:
            text = f"between {_number(low)} and {_number(high)}"
            if kwargs.get("strict_min") or kwargs.get("strict_max"):
                text += " (exclusive)"
        elif low is not None:
            text = f"{above} {_number(low)}"
        else:
            text = f"{below} {_number(high)}"
    elif kind.endswith("_to_equal") and "value" in kwargs:
        text = f"equal to {_number(kwargs['value'])}"
    elif "value_set" in kwargs:
        negated = "not_" in kind
        text = f"{'not ' if negated else ''}in set of {len(kwargs['value_set'] or [])} values"
    elif kind in ("expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex"):
        text = f"{'does not match' if '_not_' in kind else 'matches'} {kwargs.get('regex')}"
    elif kind == "expect_column_values_to_not_be_null":
        text = "not null"
    elif kind == "expect_column_values_to_be_null":
        text = "null"
    elif kind == "expect_column_values_to_be_unique":
        text = "unique"
    elif kind == "expect_compound_columns_to_be_unique":
        text = f"unique together ({len(kwargs.get('column_list', []))} columns)"
    elif kind == "expect_table_columns_to_match_set":
        exact = kwargs.get("exact_match", True)
        text = f"{'exactly' if exact is not False else 'at least'} these {len(kwargs.get('column_set') or [])} columns"
    elif kind == "expect_column_to_exist":
        text = "exists"
    else:
        text = json.dumps({k: v for k, v in kwargs.items() if k not in ("column", "column_list")}, default=str)
    mostly = kwargs.get("mostly")
    if mostly is not None and mostly < 1:
        text += f", mostly {mostly:g}"
    return text


def describe(kind: str, kwargs: dict) -> str:
    """A default description when the suite gives none (meta.description)."""
    column = column_of(kwargs)
    subject = {
        "expect_table_row_count_to_be_between": "row count",
        "expect_table_columns_to_match_set": "columns",
        "expect_compound_columns_to_be_unique": f"({column})",
    }.get(kind, column or "table")
    return f"{subject} {threshold(kind, kwargs)}"


def _display(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
