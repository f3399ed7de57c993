"""The web app on a real store (tests/event_store.py), with a token per role, for API, log and browser tests."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient

from loket.bootstrap import bootstrap, maak_tokens
from loket.service import Dienst
from loket.settings import Settings
from loket.tokens import Tokens
from loket.web.app import maak_app
from routing import load_ruleset
from tests.event_store import loket_env

HUIZEN = load_ruleset().zvh_ids


@dataclass
class Loketten:
    """A client of the app and a token per kind of user."""

    client: TestClient
    tokens: Tokens
    settings: Settings

    def token(self, naam: str, rol: str, zvh: str | None = None, compartimenten: tuple[str, ...] = ()) -> str:
        token, _ = self.tokens.maak(naam, rol, zvh=zvh, compartimenten=compartimenten, huizen=HUIZEN)
        return token

    def als(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def inloggen(self, token: str) -> httpx2.Response:
        """Log in on the web pages as a browser does: the login form first, then post it with its form token."""
        return self.client.post("/web/inloggen", data={"token": token, "csrf": formuliertoken(
            self.client.get("/web/inloggen").text)}, follow_redirects=False)


def formuliertoken(page: str) -> str:
    """The form token (csrf) a page carries in its forms; empty when it has none."""
    found = re.search(r'name="csrf" value="([^"]*)"', page)
    return found.group(1) if found else ""


@pytest.fixture
def loketten(settings: Settings) -> Iterator[Loketten]:
    systeem = bootstrap(settings)
    tokens = systeem.tokens
    with TestClient(maak_app(Dienst(systeem), tokens)) as client:
        yield Loketten(client, tokens, settings)
    systeem.close()


def vrije_poort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    stderr: Path
    env: dict[str, str]

    def token(self, naam: str, rol: str, zvh: str | None = None, compartimenten: tuple[str, ...] = ()) -> str:
        """A token in the server's token store (as `loket token create` makes it; tested there)."""
        tokens = maak_tokens(Settings.from_env(self.env))
        try:
            return tokens.maak(naam, rol, zvh=zvh, compartimenten=compartimenten, huizen=HUIZEN)[0]
        finally:
            tokens.close()

    def logs(self) -> str:
        return self.stderr.read_text()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """`loket serve` as a user starts it: a real process on a free port, JSON logs."""
    with serve(tmp_path) as started:
        yield started


@contextmanager
def serve(tmp_path: Path, name: str = "serve", *, cwd: Path | None = None, **extra: str) -> Iterator[Server]:
    """A `loket serve` process on the store in `tmp_path` (loket.sqlite), with settings `extra`;
    `name` tells several apart (their logs); `cwd`, the directory it runs in (the test's own by default)."""
    port = vrije_poort()
    env = {**os.environ, **loket_env(tmp_path / "loket.sqlite", LOKET_LOG_FORMAT="json", LOKET_USER="beheer",
                                     **extra)}
    stderr = tmp_path / f"{name}.log"
    with stderr.open("w") as err:
        process = subprocess.Popen([sys.executable, "-m", "loket.cli", "serve", "--port", str(port)],
                                   env=env, stdout=err, stderr=err, cwd=cwd)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx2.get(url + "/health", timeout=1).status_code == 200:
                break
        except httpx2.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"loket serve did not start:\n{stderr.read_text()}")
        time.sleep(0.1)
    try:
        yield Server(url, process, stderr, env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
