"""The web application: the HTTP API, the pages for people, /metrics and /health, in one app.

FastAPI gives the OpenAPI description from the same types that validate requests;
the pages are server-rendered Jinja2 with plain forms (no script needed to work a
queue, every control reachable by keyboard); charts are inline SVG drawn on the server.

Every answer carries a strict Content-Security-Policy (nothing from another origin, no
inline script or style), may not be framed, sniffed or sent on as a referrer, and, except
the static files, may not be stored by a browser or proxy: pages and answers hold personal
data. /docs is Swagger UI from the files the fastapi-offline package ships, so it works
without internet, as in a government network.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from importlib.resources import files
from pathlib import Path
from typing import Any, Generic, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from events.melding import OngeldigeOvergang
from loket import logs, metrics
from loket.service import Bezet, Dienst, NietGevonden, OngeldigVeld, Verboden
from loket.web import api, controle, controle_api, hulp, invoer, pages, regie
from loket.web.auth import COOKIE, PAD, Authenticator, NietIngelogd

HERE = Path(__file__).parent
SWAGGER_UI = files("fastapi_offline") / "static"  # swagger-ui-bundle.js, swagger-ui.css
log = logs.logger("loket.web")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

# Swagger UI draws its icons from data: URLs in its stylesheet; nothing else needs more than 'self'.
CSP = "; ".join((
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
    "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'",
))
KOPREGELS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",  # for browsers that know no frame-ancestors
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
NIET_BEWAREN = {"cache-control": "no-store"}
# On every answer but the static files: events the furthest projection has still to process.
ACHTERSTAND = b"x-loket-achterstand"
ACHTERSTAND_WACHT = 0.5  # seconds an answer waits for the lag to be measured before it goes without


class Verzoeken:
    """Per request, in one pass over the answer's start:
    - an id (taken from X-Request-ID when it is a plain token), bound to every log line and sent back;
    - the security headers on every answer, no-store on all but the static files;
    - X-Loket-Achterstand on all but the static files: how far behind the projections are;
    - one log line and the HTTP metrics by route template, never by raw path or query."""

    def __init__(self, app: ASGIApp, dienst: Dienst, meting: Eenmalig[dict[str, int]]):
        self.app = app
        self.dienst = dienst
        self.meting = meting
        vast = [(k.encode(), v.encode()) for k, v in KOPREGELS.items()]
        self.statisch = vast
        self.dynamisch = vast + [(k.encode(), v.encode()) for k, v in NIET_BEWAREN.items()]
        self.ons = frozenset(k for k, _ in self.dynamisch) | {b"x-request-id", ACHTERSTAND}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        presented = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"").decode("latin-1")
        request_id = presented if _REQUEST_ID.match(presented) else uuid.uuid4().hex
        logs.clear()
        logs.bind(request_id=request_id)
        status = 500
        statisch = scope["path"].startswith("/static/")
        extra = [*(self.statisch if statisch else self.dynamisch),
                 (b"x-request-id", request_id.encode())]
        ons = self.ons

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [(k, v) for k, v in message.get("headers", ()) if k.lower() not in ons] + extra
                if not statisch:
                    message["headers"].extend(await self._achterstand())
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            seconds = time.perf_counter() - started
            template = _template(scope)
            metrics.HTTP_REQUESTS.labels(method=scope["method"], route=template, status=str(status)).inc()
            metrics.HTTP_SECONDS.labels(route=template).observe(seconds)
            melding_id = scope.get("path_params", {}).get("melding_id")
            log.info("http", method=scope["method"], route=template, status=status,
                     ms=round(seconds * 1000, 1), gebruiker=scope.get("state", {}).get("gebruiker"),
                     **({"melding_id": str(melding_id)} if melding_id else {}))


    async def _achterstand(self) -> list[tuple[bytes, bytes]]:
        """How far behind the projections are, in events, as measured at most a second ago (the
        measuring is a few indexed reads, in a worker thread); nothing when the store cannot tell
        within half a second: the answer goes out without it, and a stopped or hanging event store
        holds up no request (one measurement at a time waits for it)."""
        achter = self.dienst.achterstand_vers()
        if achter is None:
            try:
                achter = max((await self.meting(ACHTERSTAND_WACHT)).values(), default=0)
            except Exception as exc:  # noqa: BLE001 - the answer goes out; the failure's type is logged
                log.warning("achterstand onbekend", fout=type(exc).__name__)
                return []
        return [(ACHTERSTAND, str(achter).encode())]


def _template(scope: Scope) -> str:
    """The route a request matched (/meldingen/{melding_id}), never the raw path: bounded labels."""
    route = scope.get("route")
    if route is not None:
        return route.path
    if scope["path"].startswith("/static/"):
        return "/static"
    # Starlette's own routes (/openapi.json, /docs) have no parameters; anything else is unmatched.
    return scope["path"] if "endpoint" in scope else "onbekend"


def _fout(request: Request, status: int, detail: str, errors: list[dict[str, str]] | None = None,
          headers: dict[str, str] | None = None) -> Response:
    if request.url.path.startswith("/web"):
        return pages.foutpagina(request, status)  # in Dutch, with the menu; the engine's words are for the API
    return JSONResponse({"detail": detail, "errors": errors or []}, status_code=status, headers=headers)


def _velden(exc: RequestValidationError) -> list[dict[str, str]]:
    """Every bad field by its place (body.zvh, query.as_of), never with the value sent."""
    return [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's description, with the houses and products of the ruleset this app runs."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description,
                             routes=app.routes)
        ruleset = app.state.dienst.ruleset
        known = {"zvh": sorted(ruleset.zvh_ids), "product": sorted(ruleset.producten)}
        for name, values in known.items():
            schema["components"]["schemas"]["Handmatig"]["properties"][name]["enum"] = values
        for parameter in schema["paths"]["/wachtrij"]["get"]["parameters"]:
            if parameter["name"] == "zvh":
                parameter["schema"] = {"anyOf": [{"type": "string", "enum": known["zvh"]}, {"type": "null"}]}
        app.openapi_schema = schema
    return app.openapi_schema


_T = TypeVar("_T")


class Eenmalig(Generic[_T]):
    """One question to a server at a time, in a worker thread: who asks while it is being asked
    waits for the same answer, each for at most the seconds it gives (a hanging server holds one
    worker thread, not one per request)."""

    def __init__(self, vraag: Callable[[], _T]):
        self.vraag = vraag
        self.bezig: asyncio.Future[_T] | None = None

    async def __call__(self, wacht: float) -> _T:
        if self.bezig is None or self.bezig.done():
            self.bezig = asyncio.get_running_loop().run_in_executor(None, self.vraag)
            # Its failure is taken even when every asker stopped waiting before it came.
            self.bezig.add_done_callback(lambda f: f.cancelled() or f.exception())
        # asyncio's executor, not anyio's: a wait anyio starts is not given up when it lasts too long.
        return await asyncio.wait_for(asyncio.shield(self.bezig), wacht)


async def _binnen(vraag: Callable[[float], Awaitable[_T]], wat: str) -> _T | None:
    """What `vraag` answers within `Dienst.SLEUTELS_WACHT` seconds; None when it fails or does not
    answer in time (a health check's question to a server), logged by its type only."""
    try:
        return await vraag(Dienst.SLEUTELS_WACHT)
    except TimeoutError:
        log.warning("gezondheid: geen antwoord", deel=wat)
    except Exception as exc:  # noqa: BLE001 - whatever the store raised, it is unreachable
        log.warning("gezondheid: onbereikbaar", deel=wat, fout=type(exc).__name__)
    return None


def maak_app(dienst: Dienst, authenticator: Authenticator) -> FastAPI:
    app = FastAPI(
        # FastAPI's own /docs and /redoc load their scripts (and fonts) from public CDNs.
        docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None,
        title="Loket Zuid-Limburg",
        version="1",
        description="The central intake desk of the three Zuid-Limburg Zorg- en Veiligheidshuizen: "
        "meldingen in, routing decisions, lifecycle, caseloads and audit trails out. "
        "Authenticate with `Authorization: Bearer <token>` (`loket token create`).",
    )
    app.state.dienst = dienst
    app.state.authenticator = authenticator
    # The event store's one measurement of the projections' lag at a time (middleware and /health).
    meting: Eenmalig[dict[str, int]] = Eenmalig(dienst.achterstand)

    @app.exception_handler(NietGevonden)
    async def niet_gevonden(request: Request, exc: NietGevonden) -> Response:
        return _fout(request, 404, str(exc))

    @app.exception_handler(Verboden)
    async def verboden(request: Request, exc: Verboden) -> Response:
        return _fout(request, 403, str(exc))

    @app.exception_handler(OngeldigVeld)
    async def ongeldig_veld(request: Request, exc: OngeldigVeld) -> Response:
        return _fout(request, 422, str(exc), [{"field": exc.field, "message": exc.message}])

    @app.exception_handler(Bezet)
    async def bezet(request: Request, exc: Bezet) -> Response:
        # An expensive read found every place taken: come back later, the server stays up for the rest.
        headers = {"retry-after": str(exc.retry_after)}
        if request.url.path.startswith("/web"):
            page = pages.foutpagina(request, 503, "Het is nu te druk voor deze opvraging (terugkijken, cijfers of "
                                    f"een export). Probeer het over {exc.retry_after} seconden opnieuw.")
            page.headers.update(headers)
            return page
        return JSONResponse({"detail": str(exc), "errors": []}, status_code=503, headers=headers)

    @app.exception_handler(OngeldigeOvergang)
    async def ongeldige_overgang(request: Request, exc: OngeldigeOvergang) -> Response:
        return _fout(request, 409, str(exc))

    @app.exception_handler(RequestValidationError)
    async def ongeldig_verzoek(request: Request, exc: RequestValidationError) -> Response:
        return _fout(request, 422, "the request has invalid fields", _velden(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_fout(request: Request, exc: StarletteHTTPException) -> Response:
        return _fout(request, exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(NietIngelogd)
    async def niet_ingelogd(request: Request, exc: NietIngelogd) -> Response:
        response = RedirectResponse("/web/inloggen", status_code=303)
        if COOKIE in request.cookies:
            response.delete_cookie(COOKIE, path=PAD)  # it ended (idle, too old, logged out elsewhere)
        return response

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> Response:
        # The exception's message and locals stay out of the answer: they may hold personal data.
        log.error("onverwachte fout", fout=type(exc).__name__, exc_info=exc)
        # This answer is made outside the middleware (Starlette's outermost layer): it sets its headers itself.
        if request.url.path.startswith("/web"):
            page = pages.foutpagina(request, 500, menu=False)  # the session store may be what failed
            page.headers.update({**KOPREGELS, **NIET_BEWAREN})
            return page
        return JSONResponse({"detail": "internal error; the request id is in the logs", "errors": []},
                            status_code=500, headers={**KOPREGELS, **NIET_BEWAREN})

    @app.get("/health", tags=["beheer"],
             responses={503: {"description": "the event store or the key store cannot be reached"}},
             summary="Are the store and the key store reachable; how far behind are the projections")
    async def health(response: Response) -> dict[str, Any]:
        dienst: Dienst = app.state.dienst
        # Both stores may be servers: each asked in a worker thread and waited for a few seconds at
        # most, so the event loop goes on serving meanwhile and a stopped or hanging server is a 503,
        # not a 500 or a health check that never answers.
        sleutels, achterstand = await asyncio.gather(
            _binnen(lambda wacht: asyncio.wait_for(
                asyncio.get_running_loop().run_in_executor(None, dienst.sleutels_bereikbaar), wacht),
                "sleutelopslag"),
            _binnen(meting, "gebeurtenissen"))
        antwoord = {"status": "ok", "gebeurtenissen": "ok" if achterstand is not None else "onbereikbaar",
                    "sleutelopslag": "ok" if sleutels else "onbereikbaar", "achterstand": achterstand or {}}
        if not sleutels or achterstand is None:
            response.status_code = 503
            antwoord["status"] = "onbereikbaar"
        return antwoord

    @app.get("/metrics", tags=["beheer"], response_class=PlainTextResponse,
             summary="Prometheus metrics (all prefixed loket_)")
    def prometheus() -> Response:
        app.state.dienst.achterstand()
        return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse("/web/", status_code=303)

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> Response:
        return pages.templates.TemplateResponse(request, "docs.html", {"titel": app.title})

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.include_router(api.router)
    app.include_router(controle_api.router)
    # Before the pages: /web/meldingen/nieuw is the intake form, not a melding's id, and the pages'
    # POST /meldingen/{id}/{handeling} would take /inzageverzoek for an action.
    app.include_router(invoer.router, prefix="/web", include_in_schema=False)
    app.include_router(controle.router, prefix="/web", include_in_schema=False)
    app.include_router(pages.router, prefix="/web", include_in_schema=False)
    app.include_router(regie.router, prefix="/web", include_in_schema=False)
    app.include_router(hulp.router, prefix="/web", include_in_schema=False)
    app.mount("/static/swagger-ui", StaticFiles(directory=str(SWAGGER_UI)), name="swagger-ui")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(Verzoeken, dienst=dienst, meting=meting)
    return app
