"""Each partnership's rows of the marts a document reads, in a folder of its own.

A document keeps only its partnership's rows of each mart. Nationally a mart holds 339 partnerships (the indicator
values about ten million rows), and a render that reads the whole file spends most of its time discarding it. The
publishing step reads each mart once and writes every partnership's rows to that partnership's folder; a mart
without a `partnership_id` (what each source delivered) is linked whole. The folders last one publishing step.
"""

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import polars as pl


def partnership_slices(marts_dir: Path, out_dir: Path, marts: Sequence[str], partnerships: Sequence[str]) -> dict[str, Path]:
    """Write `out_dir/<partnership>/<mart>.parquet` for each named mart (`marts/<name>` or `<name>`) and partnership,
    in the mart's row order and schema (no rows when the partnership has none); returns each partnership's folder."""
    folders = {p: out_dir / p for p in partnerships}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    for name in marts:
        source = marts_dir / f"{name.removeprefix('marts/')}.parquet"
        if "partnership_id" not in pl.read_parquet_schema(source):
            for folder in folders.values():
                _link(source, folder / source.name)
            continue
        frame = pl.scan_parquet(source).filter(pl.col("partnership_id").is_in(list(partnerships))).collect()
        parts = frame.partition_by("partnership_id", as_dict=True)
        for partnership, folder in folders.items():
            parts.get((partnership,), frame.clear()).write_parquet(folder / source.name)
        del frame, parts
    return folders


def _link(source: Path, target: Path) -> None:
    """A hard link (no copy) where the file system allows one."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
