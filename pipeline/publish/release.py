"""Atomic release of an edition: built in a temporary folder, audited, then renamed into place.

The previous edition stays in place, byte for byte, until the new one has passed its audit; the swap is two
renames on one file system (old aside, new in), and the old copy is removed only after the new one is in.
A restricted edition is written owner-only (folders 0700, files 0600).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

OWNER_ONLY_DIR, OWNER_ONLY_FILE = 0o700, 0o600


class ReleaseRefused(Exception):
    """The audit found something that must not be published; the previous edition is untouched."""

    def __init__(self, folder: Path, findings: list) -> None:
        self.findings = findings
        lines = "\n  - ".join(str(f) for f in findings[:20])
        more = f"\n  (and {len(findings) - 20} more)" if len(findings) > 20 else ""
        super().__init__(f"release of {folder} refused: {len(findings)} finding(s) of the disclosure audit; "
                         f"the previous edition is unchanged:\n  - {lines}{more}")


def staging_folder(final_dir: Path) -> Path:
    """A fresh temporary folder beside the final one (same file system, so the swap is a rename)."""
    final_dir.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{final_dir.name}.", suffix=".building", dir=final_dir.parent))


def owner_only(folder: Path) -> None:
    """Make a folder and everything in it readable by its owner alone."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(OWNER_ONLY_DIR if path.is_dir() else OWNER_ONLY_FILE)


def release(tmp_dir: Path, final_dir: Path, audit: Callable[[Path], list] | None = None, restricted: bool = False,
            public_root: Path | None = None) -> Path:
    """Audit tmp_dir (if an audit is given) and move it into final_dir, replacing the previous edition.

    Raises ReleaseRefused (leaving final_dir as it was and removing tmp_dir) when the audit has findings.
    A public edition's files are opened for reading, and so are its folders up to `public_root`.
    """
    tmp_dir, final_dir = Path(tmp_dir), Path(final_dir)
    try:
        findings = audit(tmp_dir) if audit else []
        if findings:
            raise ReleaseRefused(final_dir, findings)
        if restricted:
            owner_only(tmp_dir)
        else:  # a public edition is for reading (the run's umask makes everything owner-only)
            for path in [tmp_dir, *tmp_dir.rglob("*")]:
                path.chmod(0o755 if path.is_dir() else 0o644)
            for folder in [final_dir.parent, *final_dir.parent.parents]:
                if public_root is None or not folder.is_relative_to(public_root):
                    break
                folder.chmod(0o755)
        final_dir.parent.mkdir(parents=True, exist_ok=True)
        previous = final_dir.with_name(f".{final_dir.name}.previous")
        shutil.rmtree(previous, ignore_errors=True)
        if final_dir.exists():
            os.replace(final_dir, previous)
        try:
            os.replace(tmp_dir, final_dir)
        except BaseException:
            if previous.exists():
                os.replace(previous, final_dir)
            raise
        shutil.rmtree(previous, ignore_errors=True)
        return final_dir
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
