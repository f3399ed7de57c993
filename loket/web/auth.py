"""Who is asking: a bearer token on the API, the same token in a cookie on the web pages.

The app only needs an `Authenticator`: something that turns a presented credential
into a `Gebruiker` (or None). `loket.tokens.Tokens` is one; an OIDC verifier that
checks a JWT's signature and maps its claims is another (docs/api.md).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Protocol

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from loket.toegang import Gebruiker

COOKIE = "loket_token"


class Authenticator(Protocol):
    def gebruiker(self, token: str) -> Gebruiker | None: ...


class NietIngelogd(Exception):
    """A web page asked for without a (valid) login: send the browser to the login page."""


_bearer = HTTPBearer(auto_error=False, description="a token from `loket token create`")


def api_gebruiker(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Gebruiker:
    gebruiker = None
    if credentials is not None:
        gebruiker = request.app.state.authenticator.gebruiker(credentials.credentials)
    if gebruiker is None:
        raise HTTPException(401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    request.state.gebruiker = gebruiker.naam
    return gebruiker


def pagina_gebruiker(request: Request) -> Gebruiker:
    token = request.cookies.get(COOKIE)
    gebruiker = request.app.state.authenticator.gebruiker(token) if token else None
    if gebruiker is None:
        raise NietIngelogd()
    request.state.gebruiker = gebruiker.naam
    return gebruiker


def csrf(request: Request) -> str:
    """The form token of this login: forms post it back, another site cannot know it."""
    token = request.cookies.get(COOKIE, "")
    return hmac.new(token.encode(), b"loket-formulier", hashlib.sha256).hexdigest()[:32]


def csrf_klopt(request: Request, presented: str) -> bool:
    return hmac.compare_digest(csrf(request), presented or "")
