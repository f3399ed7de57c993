"""`loket serve` (the HTTP API and web pages) and `loket token` (who may use them)."""

from __future__ import annotations

import argparse
import sys

from events.handelingen import Gebruiker
from events.toegang import COMPARTIMENTEN, ROLSOORTEN
from loket.bootstrap import maak_tokens
from loket.cli.basis import emit, gebruiker_uit
from loket.service import ZWARE_PLAATSEN, ZWARE_WACHTEND, Toegangsbeheer
from loket.settings import Settings
from routing import load_ruleset


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from loket import logs
    from loket.bootstrap import bootstrap
    from loket.metrics import GemetenRuleset
    from loket.service import Dienst, Rem
    from loket.web.app import maak_app
    from routing.loader import read_ruleset

    settings = Settings.from_env()
    logs.configure(settings.log_format)
    systeem = bootstrap(settings, ruleset=GemetenRuleset(read_ruleset()))
    try:
        d = Dienst(systeem, rem=Rem(args.max_heavy_reads, args.heavy_read_queue))
        if settings.catch_up_on_read:
            d.bij()
        app = maak_app(d, systeem.tokens)
        logs.logger("loket.serve").info("luistert", host=args.host, port=args.port, gebeurtenissen=settings.waar())
        uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False,
                    limit_concurrency=args.max_requests)
    finally:
        systeem.close()
    return 0


def _toegangsbeheer() -> tuple[Toegangsbeheer, Gebruiker]:
    """The token store (maak_tokens), without opening the event store or the key vault."""
    settings = Settings.from_env()
    huizen = load_ruleset().zvh_ids
    return Toegangsbeheer(maak_tokens(settings), huizen), gebruiker_uit(settings, huizen)


def cmd_token_create(args: argparse.Namespace) -> int:
    beheer, wie = _toegangsbeheer()
    token, info = beheer.maak_token(wie, args.user, args.role, zvh=args.zvh, compartimenten=tuple(args.compartment))
    print(token)
    print(f"token {info.id} for {args.user} ({info.gebruiker.rol}); shown once, only its hash is kept", file=sys.stderr)
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    beheer, wie = _toegangsbeheer()
    for info in beheer.lijst(wie):
        emit({"id": info.id, **info.gebruiker.as_dict(), "aangemaakt": info.aangemaakt,
              "ingetrokken": info.ingetrokken})
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    beheer, wie = _toegangsbeheer()
    beheer.trek_in(wie, args.id)
    return 0


def register(command) -> None:
    sp = command("serve", cmd_serve, "the HTTP API (OpenAPI at /docs) and the web pages, on one port")
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=8000)
    sp.add_argument("--max-requests", type=int, default=64, help="requests in progress at once; more get 503")
    sp.add_argument("--max-heavy-reads", type=int, default=ZWARE_PLAATSEN, metavar="N",
                    help="expensive reads (as-of, statistics, exports) at once")
    sp.add_argument("--heavy-read-queue", type=int, default=ZWARE_WACHTEND, metavar="N",
                    help="expensive reads waiting for a place (up to 10 s); more get 503")

    sp = command("token", lambda a: a.token_handler(a), "API and web tokens: create, list, revoke")
    sub = sp.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = sub.add_parser("create", help="a new token for a user; printed once, only its hash is kept")
    create.add_argument("--user", required=True)
    create.add_argument("--role", required=True, choices=[*ROLSOORTEN, "admin"],
                        help="the kind of role (admin: the earlier name of beheer)")
    create.add_argument("--zvh", help="the house, for role zvh")
    create.add_argument("--compartment", action="append", default=[], choices=sorted(COMPARTIMENTEN),
                        help="a restricted compartment this user may see (repeatable)")
    create.set_defaults(token_handler=cmd_token_create)
    listing = sub.add_parser("list", help="tokens (never the tokens themselves): id, user, role, house")
    listing.set_defaults(token_handler=cmd_token_list)
    revoke = sub.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("id")
    revoke.set_defaults(token_handler=cmd_token_revoke)
