"""Who is asking (a bearer token on the API, a server-side session on the web pages), and the
service that answers them: what every request of the API and the pages depends on.

The app only needs an `Authenticator`: something that turns a presented credential
into a `Gebruiker` (or None), and keeps the web pages' sessions. `loket.tokens.Tokens`
is one; an OIDC verifier that checks a JWT's signature and maps its claims, with a
session store beside it, is another (docs/api.md).

Every form carries a form token (csrf) another site cannot know: for a logged-in person
it is derived from their session id, for the login form from a pre-session cookie set
when the form is shown. Both cookies are HttpOnly and SameSite=Strict, and only go to /web.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated, Protocol

from fastapi import Depends, HTTPException, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from events.handelingen import Gebruiker
from loket.service import Dienst

COOKIE = "loket_sessie"
VOOR_COOKIE = "loket_inloggen"  # before login: what the login form's token is derived from
PAD = "/web"


class Authenticator(Protocol):
    def gebruiker(self, token: str) -> Gebruiker | None: ...

    def open_sessie(self, token: str) -> str | None: ...

    def sessie(self, sessie: str) -> Gebruiker | None: ...

    def sluit_sessie(self, sessie: str) -> None: ...


# Dependencies that do no I/O are async: a sync one costs a trip through the thread pool.
async def dienst(request: Request) -> Dienst:
    return request.app.state.dienst


Diensten = Annotated[Dienst, Depends(dienst)]


class NietIngelogd(Exception):
    """A web page asked for without a (valid) login: send the browser to the login page."""


_bearer = HTTPBearer(auto_error=False, description="a token from `loket token create`")


async def api_gebruiker(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Gebruiker:
    # On the event loop, not the thread pool: one indexed read of the token file costs less than
    # the hop to a worker thread and back, which every API request would pay.
    gebruiker = None
    if credentials is not None:
        gebruiker = request.app.state.authenticator.gebruiker(credentials.credentials)
    if gebruiker is None:
        raise HTTPException(401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    request.state.gebruiker = gebruiker.naam
    return gebruiker


def pagina_gebruiker(request: Request) -> Gebruiker:
    sessie = request.cookies.get(COOKIE)
    gebruiker = request.app.state.authenticator.sessie(sessie) if sessie else None
    if gebruiker is None:
        raise NietIngelogd()
    request.state.gebruiker = gebruiker.naam
    return gebruiker


def zet_cookie(request: Request, response: Response, naam: str, waarde: str) -> None:
    # No expiry of its own: the browser forgets it when it closes; the server ends it sooner.
    response.set_cookie(naam, waarde, httponly=True, samesite="strict", path=PAD,
                        secure=request.url.scheme == "https")


def _formuliertoken(geheim: str, doel: bytes) -> str:
    return hmac.new(geheim.encode(), doel, hashlib.sha256).hexdigest()[:32] if geheim else ""


def csrf(request: Request) -> str:
    """The form token of this session: forms post it back, another site cannot know it."""
    return _formuliertoken(request.cookies.get(COOKIE, ""), b"loket-formulier")


def csrf_klopt(request: Request, presented: str) -> bool:
    expected = csrf(request)
    return bool(expected) and hmac.compare_digest(expected, presented or "")


def voorsessie(request: Request) -> str:
    """The pre-session the login form is bound to: the browser's own, or a new one."""
    return request.cookies.get(VOOR_COOKIE) or secrets.token_urlsafe(32)


def inlog_csrf(voor: str) -> str:
    return _formuliertoken(voor, b"loket-inloggen")


def inlog_csrf_klopt(request: Request, presented: str) -> bool:
    """Login CSRF: a login form posted from another site (to log the victim in as the attacker) lacks it."""
    expected = inlog_csrf(request.cookies.get(VOOR_COOKIE, ""))
    return bool(expected) and hmac.compare_digest(expected, presented or "")
