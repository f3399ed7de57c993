"""`loket`: the command line of the central Zuid-Limburg loket."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from events.follower import lag
from events.intake import MAX_MELDING_BYTES, TE_GROOT_BEWAARD, TeGroot
from loket.bootstrap import Systeem, bootstrap
from loket.progress import voortgang
from loket.settings import OngeldigeInstelling, Settings
from privacy.masterkey import SleutelFout

BATCH = 500


class Fout(Exception):
    """A user error: printed as one clear line, exit code 2."""


# Exit codes besides 0 and 1 (a command's own "no": a broken chain, rules with problems).
USER_ERROR = 2  # a wrong argument or setting (Fout, OngeldigeInstelling)
STORE_UNREACHABLE = 3  # the event store cannot be reached
KEY_UNUSABLE = 4  # the master key or key store cannot be used (SleutelFout)


def _open_input(name: str) -> IO[bytes]:
    if name == "-":
        return sys.stdin.buffer
    path = Path(name)
    if not path.is_file():
        raise Fout(f"file not found: {name}")
    return path.open("rb")


def _lines(stream: IO[bytes], *, limit: int = MAX_MELDING_BYTES) -> Iterator[bytes | TeGroot]:
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


def _emit(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


@contextmanager
def _systeem(settings: Settings | None = None) -> Iterator[Systeem]:
    systeem = bootstrap(settings)
    try:
        yield systeem
    finally:
        systeem.close()


def _batches(items: Iterable[bytes | TeGroot], size: int) -> Iterator[list[bytes | TeGroot]]:
    batch: list[bytes | TeGroot] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _count_lines(name: str) -> int | None:
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


# Commands -------------------------------------------------------------------


def cmd_route(args: argparse.Namespace) -> int:
    from events.application import Loket

    app = Loket(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    with _open_input(args.file) as stream:
        for line in _lines(stream):
            beoordeling = app.beoordeel(line)
            _emit(beoordeling.beslissing.as_contract())
            sys.stdout.flush()
    return 0


def ontvang(systeem: Systeem, name: str, *, quiet: bool = False) -> dict[str, int]:
    """Store every line of a file (group commit per batch), then update the projections."""
    counts: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    stream = _open_input(name)
    total = _count_lines(name)
    with stream, voortgang("meldingen ontvangen", total, quiet=quiet) as bar:
        for batch in _batches(_lines(stream), BATCH):
            for ontvangst in systeem.app.ontvang_batch(batch):
                counts[ontvangst.status] += 1
                if ontvangst.status != "duplicaat":
                    outcomes[ontvangst.beslissing.outcome] += 1
            bar.advance(len(batch))
    _bijwerken(systeem, quiet=quiet)
    return {
        "received": sum(counts.values()),
        "new": counts["nieuw"],
        "duplicates": counts["duplicaat"],
        "rejected": counts["afgewezen"],
        "routed": outcomes["routed"],
        "triage": outcomes["triage"],
        "doorverwijzen": outcomes["doorverwijzen"],
    }


def _bijwerken(systeem: Systeem, *, quiet: bool = False, page_size: int = 2_000) -> int:
    positions = systeem.projecties.positions(systeem.app.name)
    behind = max(lag(systeem.app, positions).values(), default=0)
    with voortgang("projecties bijwerken", behind, quiet=quiet) as bar:
        state = {"at": min(positions.values(), default=0)}

        def on_page(at: int, _last: int) -> None:
            bar.advance(at - state["at"])
            state["at"] = at

        return systeem.bij(on_page=on_page, page_size=page_size)


def cmd_ontvang(args: argparse.Namespace) -> int:
    with _systeem() as systeem:
        _emit(ontvang(systeem, args.file))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from loket.demo import demo

    return demo(args)


# Parser ---------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="loket",
        description="Event-sourced routing engine of the central Zuid-Limburg loket. "
        "Store: LOKET_DB (SQLite path, default ./loket.sqlite).",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        sp.set_defaults(handler=handler)
        return sp

    sp = command("route", cmd_route, "decide JSON-lines meldingen without storing them")
    sp.add_argument("file", nargs="?", default="-", help="JSON lines file, or - for stdin (default)")

    sp = command("ontvang", cmd_ontvang, "store JSON-lines meldingen; prints a JSON summary last")
    sp.add_argument("file", help="JSON lines file, or - for stdin")

    sp = command("demo", cmd_demo, "a synthetic year of meldingen through the pipeline, then the caseload")
    sp.add_argument("--year", type=int, default=2025)
    sp.add_argument("--seed", type=int, default=2025)
    sp.add_argument("--scale", type=float, default=1.0, help="volume factor (1.0 = a realistic year)")
    sp.add_argument("--db", default="loket-demo.sqlite", help="store for the demo (recreated)")

    # Each area registers its own commands: register(command) in loket/cli_<area>.py.
    from loket import cli_kafka, cli_lifecycle, cli_privacy, cli_projections, cli_routing, cli_web

    cli_lifecycle.register(command)
    cli_projections.register(command)
    cli_routing.register(command)
    cli_web.register(command)
    cli_privacy.register(command)
    cli_kafka.register(command)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.handler(args)
    except (Fout, OngeldigeInstelling) as exc:
        print(f"loket: {exc}", file=sys.stderr)
        return USER_ERROR
    except SleutelFout as exc:
        # Its message names the setting (LOKET_MASTER_KEY, LOKET_MASTER_KEY_FILE, the key
        # store's path), never a key or what a key file holds.
        print(f"loket: {exc}", file=sys.stderr)
        return KEY_UNUSABLE
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if not _store_unreachable(exc):
            raise
        # The driver's first line names the server (host, port), never a password or a melding.
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"loket: the event store cannot be reached ({type(exc).__name__}): {detail}", file=sys.stderr)
        return STORE_UNREACHABLE


def _store_unreachable(exc: BaseException) -> bool:
    """A connection error of the event store (PostgreSQL down, wrong host or port)."""
    from eventsourcing.persistence import InterfaceError, OperationalError

    kinds: tuple[type[BaseException], ...] = (InterfaceError, OperationalError)
    psycopg = sys.modules.get("psycopg")  # loaded only when the store is PostgreSQL
    if psycopg is not None:
        kinds += (psycopg.OperationalError, psycopg.InterfaceError)
    return isinstance(exc, kinds)


if __name__ == "__main__":
    # Run as `python -m loket.cli`: use the imported module, so the command modules and
    # this entry share one `Fout` class.
    from loket.cli import main as _main

    sys.exit(_main())
