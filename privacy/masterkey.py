"""The master key: the one secret that opens the key store and signs the chain's anchors.

It comes from LOKET_MASTER_KEY (base64 of 32 bytes) or LOKET_MASTER_KEY_FILE (a
file holding that text, readable by its owner only). Without either, a
development key is generated once next to the key store, with a loud warning:
anyone who copies that directory gets the key with the data.
Every other secret is derived from it (HKDF), each for one purpose, so one
derived key never opens what another protects.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
log = logging.getLogger("loket.privacy")


class SleutelFout(Exception):
    """A master key or key store that cannot be used; the message names the setting, never a key.

    The command line ends on it with one line and exit code 4 (loket/cli.py): a
    deployment whose key is wrong must say which setting to fix, not show a traceback.
    """


def _decode(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SleutelFout(f"{where} is not base64 text") from None
    if len(key) != KEY_BYTES:
        raise SleutelFout(f"{where} must hold {KEY_BYTES} bytes (base64), it holds {len(key)}")
    return key


def _read_private_file(path: Path, where: str) -> bytes:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise SleutelFout(f"{where}: no file at {path}") from None
    except OSError as e:
        raise SleutelFout(f"{where}: cannot read {path} ({e.strerror or type(e).__name__})") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SleutelFout(f"{where}: {path} is readable by others; chmod 600 it")
    try:
        text = path.read_text(encoding="ascii")
    except UnicodeDecodeError:
        raise SleutelFout(f"{where} is not base64 text") from None
    except OSError as e:  # a directory, a file we may not read
        raise SleutelFout(f"{where}: cannot read {path} ({e.strerror or type(e).__name__})") from None
    return _decode(text, where)


def generate_key_file(path: Path) -> bytes:
    """A new random key in a new file that only its owner can read (never overwrites).

    The file appears whole or not at all: the key is written under a temporary name
    and linked into place, which fails (FileExistsError) when another process put its
    key there first. A reader never sees a half-written key."""
    key = os.urandom(KEY_BYTES)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(base64.b64encode(key).decode("ascii") + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.link(temporary, path)
    finally:
        os.unlink(temporary)
    return key


def master_key_source(env: Mapping[str, str], development_file: Path) -> str:
    """Where the master key comes from, for messages: the setting, never the key."""
    if env.get("LOKET_MASTER_KEY"):
        return "LOKET_MASTER_KEY"
    if env.get("LOKET_MASTER_KEY_FILE"):
        return "LOKET_MASTER_KEY_FILE"
    return f"the development master key {development_file}"


def load_master_key(env: Mapping[str, str], development_file: Path) -> bytes:
    """The master key from the environment, or the development key file (generated when missing)."""
    if text := env.get("LOKET_MASTER_KEY"):
        return _decode(text, "LOKET_MASTER_KEY")
    if name := env.get("LOKET_MASTER_KEY_FILE"):
        return _read_private_file(Path(name), "LOKET_MASTER_KEY_FILE")
    if development_file.exists():
        return _read_private_file(development_file, "development master key")
    try:
        key = generate_key_file(development_file)
    except FileExistsError:
        # Generated just now by a process that started beside us (the consumer and
        # the relay on a fresh store): its key is the store's.
        return _read_private_file(development_file, "development master key")
    log.warning(
        "NO MASTER KEY CONFIGURED: generated a development master key at %s (mode 0600). "
        "It lies next to the data it protects, so it protects nothing against a copy of that directory. "
        "Set LOKET_MASTER_KEY or LOKET_MASTER_KEY_FILE in production (docs/privacy.md).",
        development_file,
    )
    return key


def derive(master: bytes, purpose: str) -> bytes:
    """A key for one purpose only, derived from the master key."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=f"loket/{purpose}".encode()).derive(
        master
    )
