"""Keyed pseudonyms for person identifiers: the same person gets the same pseudonym across agencies and
years, and nobody without the key can reverse or re-derive it. The key never lives in the workspace, so a
copied workspace carries no way back to the people in it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import polars as pl

KEY_ENV = "CSP_PSEUDONYM_KEY"  # the key itself, hex
KEY_FILE_ENV = "CSP_PSEUDONYM_KEY_FILE"  # or a file holding it
PSEUDONYM_HEX_CHARS = 32


class PseudonymKeyError(Exception):
    """No usable pseudonymisation key: the message says where the key is looked for."""


def default_key_file() -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "csp" / "pseudonymisation.key"


def key_file() -> Path:
    return Path(os.environ[KEY_FILE_ENV]) if os.environ.get(KEY_FILE_ENV) else default_key_file()


def check_key_file(path: Path | None = None) -> None:
    """Refuse a key file that anyone but its owner can read or write (checked when any command starts)."""
    path = path or key_file()
    if os.environ.get(KEY_ENV) or not path.is_file():
        return
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise PseudonymKeyError(f"the pseudonymisation key {path} can be read by other users (mode {mode:o}); "
                                f"make it yours alone: chmod 600 {path}")


def load_key(workspace: Path | None = None) -> bytes:
    text = os.environ.get(KEY_ENV)
    origin = f"${KEY_ENV}"
    if not text:
        path = key_file()
        origin = str(path)
        if not path.is_file():
            raise PseudonymKeyError(
                f"no pseudonymisation key: set {KEY_ENV} (hex) or {KEY_FILE_ENV}, or create {path} "
                f"(`csp key create` makes one); keep it outside the workspace"
            )
        if workspace is not None and path.resolve().is_relative_to(workspace.resolve()):
            raise PseudonymKeyError(f"the pseudonymisation key {path} lies inside the workspace {workspace}; move it outside")
        check_key_file(path)
        text = path.read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise PseudonymKeyError(f"the pseudonymisation key in {origin} is not hexadecimal") from None
    if len(key) < 32:
        raise PseudonymKeyError(f"the pseudonymisation key in {origin} is {len(key)} bytes; at least 32 are needed")
    return key


def create_key_file(path: Path | None = None) -> tuple[Path, bool]:
    """Make a random key file readable only by its owner; an existing key is never replaced."""
    path = path or key_file()
    if path.exists():
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    return path, True


def pseudonymiser(key: bytes):
    """A function that replaces each identifier by HMAC-SHA256(key, id), hashing each distinct id once."""

    def apply(values: pl.Series) -> pl.Series:
        distinct = values.drop_nulls().unique()
        table = {
            v: hmac.new(key, v.strip().upper().encode("utf-8"), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX_CHARS]
            for v in distinct.to_list()
        }
        return values.replace_strict(table, default=None, return_dtype=pl.String)

    return apply
