"""`loket`: the command line of the central Zuid-Limburg loket.

Each area registers its commands (`register(command)` in loket/cli/<area>.py); every command
calls the service layer (loket/service.py) and only translates arguments and answers.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError

from events.melding import OngeldigeOvergang
from loket import logs
from loket.bootstrap import SlotBezet
from loket.cli import demo, intake, kafka, levensloop, overzichten, privacy, routing, web
from loket.cli.basis import KEY_UNUSABLE, STORE_UNREACHABLE, USER_ERROR, WRITER_BUSY, CommandoFout
from loket.service import NietGevonden, OngeldigVeld, ProjectiesAchter, Verboden
from loket.settings import OngeldigeInstelling, Settings
from privacy.keystore import OnbekendeSleutel
from privacy.masterkey import SleutelFout


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="loket",
        description="Event-sourced routing engine of the central Zuid-Limburg loket. "
        "Store: LOKET_DB (SQLite path, default ./loket.sqlite) or LOKET_DATABASE_URL. "
        "Commands act as LOKET_USER in the role LOKET_ROLE (default beheer).",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        sp.set_defaults(handler=handler)
        return sp

    for area in (intake, demo, levensloop, overzichten, routing, web, privacy, kafka):
        area.register(command)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        # Warnings go to stderr, in the format of LOKET_LOG_FORMAT (stdout is the command's answer);
        # the long-running commands (serve, consume, relay) log their work at info level.
        logs.configure(Settings.from_env().log_format, level=logging.WARNING)
        return args.handler(args)
    except (CommandoFout, OngeldigeInstelling, NietGevonden, Verboden, OngeldigeOvergang) as exc:
        print(f"loket: {exc}", file=sys.stderr)
        return USER_ERROR
    except OngeldigVeld as exc:
        print(f"loket: {exc.field}: {exc.message}", file=sys.stderr)
        return USER_ERROR
    except OnbekendeSleutel as exc:
        # Data sealed under a key the key store never had: restored from a backup older than
        # the events (docs/operations.md). Its message names the key's id, never the key.
        print(f"loket: {exc}: this personal data cannot be opened (the key store is older than the events?)",
              file=sys.stderr)
        return KEY_UNUSABLE
    except (SlotBezet, ProjectiesAchter) as exc:
        print(f"loket: {exc}", file=sys.stderr)
        return WRITER_BUSY
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
    """A connection error of the event store (PostgreSQL down, wrong host or port): the library's,
    or psycopg's where it comes through unwrapped."""
    return isinstance(exc, (InterfaceError, OperationalError, psycopg.OperationalError, psycopg.InterfaceError))
