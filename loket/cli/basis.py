"""What every command of `loket` shares: the service it talks to, who it acts as, reading input
lines, printing, and the one kind of user error. Area modules import this; nothing here imports
them (no cycles)."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from events.application import Klok
from events.handelingen import Gebruiker
from events.intake import MAX_MELDING_BYTES, TE_GROOT_BEWAARD, TeGroot
from events.toegang import OngeldigeRol, Rol
from loket.bootstrap import bootstrap, store_exists
from loket.progress import voortgang
from loket.service import Dienst
from loket.settings import Settings


class CommandoFout(Exception):
    """A user error of a command: printed as one clear line, exit code 2."""


# Exit codes besides 0 and 1 (a command's own "no": a broken chain, rules with problems).
USER_ERROR = 2  # a wrong argument, setting or request
STORE_UNREACHABLE = 3  # the event store cannot be reached
KEY_UNUSABLE = 4  # the master key or key store cannot be used (SleutelFout)
WRITER_BUSY = 5  # another process is the one writer: a projection worker or a relay holds the lock


@contextmanager
def dienst(settings: Settings | None = None, *, bestaand: bool = False, klok: Klok | None = None) -> Iterator[Dienst]:
    """The service on the store of the settings (LOKET_DB / LOKET_DATABASE_URL). `bestaand`: for
    commands that only read: a store that does not exist is an error, never created."""
    settings = settings or Settings.from_env()
    if bestaand and not store_exists(settings):
        where = settings.db if settings.database_url is None else "LOKET_DATABASE_URL (no loket tables there)"
        raise CommandoFout(f"no store at {where} (set LOKET_DB or LOKET_DATABASE_URL)")
    systeem = bootstrap(settings, klok=klok)
    try:
        yield Dienst(systeem)
    finally:
        systeem.close()


def gebruiker(d: Dienst) -> Gebruiker:
    """Who a command acts as: LOKET_USER in the role LOKET_ROLE (default beheer: the CLI is run by
    whoever runs the system), with the compartments LOKET_COMPARTMENTS."""
    return gebruiker_uit(d.systeem.settings, d.huizen)


def gebruiker_uit(settings: Settings, huizen: frozenset[str]) -> Gebruiker:
    try:
        rol = Rol.uit_tekst(settings.role, settings.compartments, huizen)
    except OngeldigeRol as exc:
        raise CommandoFout(f"LOKET_ROLE / LOKET_COMPARTMENTS: {exc}") from None
    return Gebruiker(settings.user, rol)


def emit(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


def open_input(name: str) -> IO[bytes]:
    if name == "-":
        return sys.stdin.buffer
    path = Path(name)
    if not path.is_file():
        raise CommandoFout(f"file not found: {name}")
    return path.open("rb")


def regels(stream: IO[bytes], *, limit: int = MAX_MELDING_BYTES) -> Iterator[bytes | TeGroot]:
    """The non-blank lines of a stream; a line over `limit` bytes is read in pieces, never whole,
    and comes out as what is kept of it (TeGroot): a rejected melding that names the limit."""
    while line := stream.readline(limit + 1):
        if len(line) > limit and not line.endswith(b"\n"):
            yield _te_groot(line, stream)
        elif line.strip():
            yield line.rstrip(b"\r\n")


def _te_groot(begin: bytes, stream: IO[bytes]) -> TeGroot:
    digest = hashlib.sha256(begin)
    while (piece := stream.readline(1 << 16)) and not piece.endswith(b"\n"):
        digest.update(piece)
    digest.update(piece.rstrip(b"\r\n"))
    return TeGroot(begin[:TE_GROOT_BEWAARD], digest.hexdigest())


def tel_regels(name: str) -> int | None:
    """How many non-blank lines a file has (for the progress bar), read in pieces; None for stdin."""
    if name == "-":
        return None
    count, blank = 0, True  # whether the line read so far holds only white space
    with open(name, "rb") as f:
        while piece := f.read(1 << 20):
            lines = piece.split(b"\n")
            for i, part in enumerate(lines):
                blank = blank and not part.strip()
                if i < len(lines) - 1:  # the line ends here
                    count += not blank
                    blank = True
    return count + (not blank)


@contextmanager
def bijwerken_voortgang(d: Dienst, *, quiet: bool = False) -> Iterator[Callable[[int, int], None]]:
    """A progress bar for catching the projections up: the callback the service reports pages to."""
    behind = max(d.achterstand().values(), default=0)
    with voortgang("projecties bijwerken", behind, quiet=quiet) as bar:
        state: dict[str, int | None] = {"at": None}

        def on_page(at: int, last: int) -> None:
            start = state["at"] if state["at"] is not None else last - behind
            bar.advance(at - start)
            state["at"] = at

        yield on_page
