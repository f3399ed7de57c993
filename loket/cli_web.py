"""`loket serve` (the HTTP API and web pages) and `loket token` (who may use them)."""

from __future__ import annotations

import argparse
import sys

from loket.cli import Fout, _emit
from loket.settings import Settings
from loket.toegang import COMPARTIMENTEN, ROLLEN
from loket.tokens import OngeldigToken, Tokens


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from loket import logs
    from loket.bootstrap import bootstrap
    from loket.metrics import GemetenRuleset
    from loket.web.app import maak_app
    from routing import load_ruleset

    settings = Settings.from_env()
    logs.configure(settings.log_format)
    systeem = bootstrap(settings, ruleset=GemetenRuleset(load_ruleset()))
    try:
        systeem.bij()
        app = maak_app(systeem, Tokens(settings.tokens_db))
        logs.logger("loket.serve").info("luistert", host=args.host, port=args.port, db=str(settings.db))
        uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False,
                    limit_concurrency=args.max_requests)
    finally:
        systeem.close()
    return 0


def _huizen() -> frozenset[str]:
    from routing import load_ruleset

    return load_ruleset().zvh_ids


def cmd_token_create(args: argparse.Namespace) -> int:
    tokens = Tokens(Settings.from_env().tokens_db)
    try:
        token, info = tokens.maak(args.user, args.role, zvh=args.zvh, compartimenten=tuple(args.compartment),
                                  huizen=_huizen())
    except OngeldigToken as exc:
        raise Fout(str(exc)) from None
    print(token)
    print(f"token {info.id} for {args.user} ({args.role}); shown once, only its hash is kept", file=sys.stderr)
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    for info in Tokens(Settings.from_env().tokens_db).lijst():
        _emit({"id": info.id, **info.gebruiker.as_dict(), "aangemaakt": info.aangemaakt,
               "ingetrokken": info.ingetrokken})
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    if not Tokens(Settings.from_env().tokens_db).trek_in(args.id):
        raise Fout(f"no active token with id {args.id}")
    return 0


def register(command) -> None:
    sp = command("serve", cmd_serve, "the HTTP API (OpenAPI at /docs) and the web pages, on one port")
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=8000)
    sp.add_argument("--max-requests", type=int, default=64, help="requests in progress at once; more get 503")

    sp = command("token", lambda a: a.token_handler(a), "API and web tokens: create, list, revoke")
    sub = sp.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = sub.add_parser("create", help="a new token for a user; printed once, only its hash is kept")
    create.add_argument("--user", required=True)
    create.add_argument("--role", required=True, choices=ROLLEN)
    create.add_argument("--zvh", help="the house, for role zvh")
    create.add_argument("--compartment", action="append", default=[], choices=COMPARTIMENTEN,
                        help="a restricted compartment this user may see (repeatable)")
    create.set_defaults(token_handler=cmd_token_create)
    listing = sub.add_parser("list", help="tokens (never the tokens themselves): id, user, role, house")
    listing.set_defaults(token_handler=cmd_token_list)
    revoke = sub.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("id")
    revoke.set_defaults(token_handler=cmd_token_revoke)
