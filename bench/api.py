"""What the HTTP API costs on top of the application, measured side by side in one run.

    python bench/api.py [--meldingen 400] [--rounds 3]

Contenders, each storing the same number of fresh meldingen of a synthetic year, one at a
time, into its own new SQLite store on the same disk:
- baseline: `Loket.ontvang(raw)` in-process (validate, route, save), which is what the
  server does for each request (its projections catch up when someone reads);
- HTTP: `POST /meldingen` to a running `loket serve` (uvicorn) over one keep-alive connection
  (the standard library's http.client: the leanest client, so the time is the server's);
- HTTP, 8 clients: the same meldingen from 8 threads at once, a connection each (the server
  has one write lock).
And a read: `GET /meldingen/{id}` against `Loket.melding(id)` in-process.

Beside a bare FastAPI app (bench/bare_api.py, uvicorn, the same machine and store file):
`GET /health` and `GET /meldingen/{id}` of the loket (token check, security headers, request
log line, metrics) against a bare route answering a constant and a bare route reading one row,
each as a `def` route (FastAPI's advice for blocking I/O) and as an `async def` route.

Rounds are interleaved; the best round of each counts. Writes the "HTTP API" section of
bench/RESULTS.md.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from uuid import UUID

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent)]

import httpx2  # noqa: E402

from events.intake import Ongeldig, parse  # noqa: E402
from loket.bootstrap import bootstrap  # noqa: E402
from loket.settings import Settings  # noqa: E402
from loket.synthetic import jaar  # noqa: E402
from loket.tokens import Tokens  # noqa: E402
from results import arguments, machine, write_section  # noqa: E402
from routing import load_ruleset  # noqa: E402
from scale import werkmap  # noqa: E402

CLIENTS = 8


def sample(n: int, rounds: int) -> list[list[str]]:
    """Per round and contender, n valid meldingen never stored before (distinct kenmerken)."""
    valid = []
    for line in jaar(2025, 2025, max(0.2, n * rounds * 3 / 5_000)):
        try:
            parse(line)
        except Ongeldig:
            continue
        valid.append(line)
    unique = list(dict.fromkeys(valid))
    need = n * rounds * 3
    if len(unique) < need:
        raise SystemExit(f"only {len(unique)} distinct meldingen; ask for fewer")
    return [unique[i:i + n] for i in range(0, need, n)]


class Server:
    def __init__(self, store: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.env = {**os.environ, "LOKET_DB": str(store), "LOKET_LOG_FORMAT": "json"}
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "loket.cli", "serve", "--port", str(self.port)],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=HERE.parent)
        token, _ = Tokens(Settings.from_env(self.env).tokens_db).maak(
            "bench", "intake", zvh=None, compartimenten=("radicalisering",), huizen=load_ruleset().zvh_ids)
        self.headers = {"Authorization": f"Bearer {token}"}
        for _ in range(300):
            try:
                if httpx2.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx2.TransportError:
                time.sleep(0.1)
        raise SystemExit("loket serve did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class Verbindingen:
    """A keep-alive connection per thread to the server, with its token."""

    def __init__(self, server: Server):
        self.server, self.local = server, threading.local()

    def _conn(self) -> http.client.HTTPConnection:
        if not hasattr(self.local, "conn"):
            self.local.conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        return self.local.conn

    def _request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = {**self.server.headers, "Content-Type": "application/json"}
        try:
            self._conn().request(method, path, body=body, headers=headers)
            response = self._conn().getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The server closes a connection idle for 5 s (between rounds): open a new one.
            del self.local.conn
            self._conn().request(method, path, body=body, headers=headers)
            response = self._conn().getresponse()
        return response.status, response.read()

    def post(self, line: str) -> tuple[int, bytes]:
        return self._request("POST", "/meldingen", line.encode())

    def get(self, path: str) -> tuple[int, bytes]:
        return self._request("GET", path)


class Kaal:
    """The bare FastAPI app of bench/bare_api.py, served by uvicorn on the loket's store file."""

    def __init__(self, store: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bare_api:app", "--port", str(self.port), "--log-level", "warning"],
            env={**os.environ, "LOKET_DB": str(store)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd=HERE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx2.get(f"http://127.0.0.1:{self.port}/sync/health", timeout=1).status_code == 200:
                    return
            except httpx2.HTTPError:
                time.sleep(0.1)
        raise SystemExit("the bare app did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def per_seconde(port: int, path: str, n: int, headers: dict[str, str]) -> float:
    """Requests per second of `n` GETs of `path`, one after another on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for _ in range(20):  # warm: the connection, the route, the server's caches
        conn.request("GET", path, headers=headers)
        conn.getresponse().read()
    started = time.perf_counter()
    for _ in range(n):
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        assert response.status == 200, (port, path, response.status)
    conn.close()
    return n / (time.perf_counter() - started)


def kaal_vergelijken(server: Server, kaal: Kaal, melding: str, n: int, rounds: int) -> dict[str, float]:
    """The loket's two cheapest routes beside the bare app's, rounds interleaved, best of each."""
    contenders = {
        "health": (server.port, "/health", {}),
        "health kaal def": (kaal.port, "/sync/health", {}),
        "health kaal async": (kaal.port, "/async/health", {}),
        "melding": (server.port, f"/meldingen/{melding}", server.headers),
        "melding kaal def": (kaal.port, f"/sync/meldingen/{melding}", {}),
        "melding kaal async": (kaal.port, f"/async/meldingen/{melding}", {}),
    }
    best: dict[str, float] = {}
    for _ in range(rounds):
        for name, (port, path, headers) in contenders.items():
            best[name] = max(best.get(name, 0.0), per_seconde(port, path, n, headers))
    return best


def timed(work: Callable[[], None]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def run(n: int, rounds: int) -> dict:
    batches = iter(sample(n, rounds))
    tmp = werkmap("bench-api-")
    direct = bootstrap(Settings.from_env({"LOKET_DB": str(tmp / "direct.sqlite")}))
    server = Server(tmp / "served.sqlite")
    client = Verbindingen(server)
    best: dict[str, float] = {}
    ids: list[str] = []

    def in_process(lines: list[str]) -> None:
        for line in lines:
            direct.app.ontvang(line)

    def one_by_one(lines: list[str]) -> None:
        for line in lines:
            status, body = client.post(line)
            assert status == 201, body
            ids.append(json.loads(body)["melding_id"])

    def many_at_once(lines: list[str]) -> None:
        def post(line: str) -> None:
            assert client.post(line)[0] == 201

        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(post, lines))

    def keep_best(name: str, work: Callable[[], None]) -> None:
        best[name] = min(best.get(name, float("inf")), timed(work))

    contenders = {"baseline": in_process, "HTTP": one_by_one, f"HTTP, {CLIENTS} clients": many_at_once}
    try:
        for _ in range(rounds):
            for name, work in contenders.items():
                lines = next(batches)
                keep_best(name, partial(work, lines))
        # Reads of the same meldingen from the same store: in-process, and over HTTP.
        served = bootstrap(Settings.from_env({"LOKET_DB": str(tmp / "served.sqlite")}))
        read_ids = ids[:n]

        def read_direct() -> None:
            for i in read_ids:
                served.app.melding(UUID(i))

        def read_http() -> None:
            for i in read_ids:
                assert client.get(f"/meldingen/{i}")[0] == 200

        for _ in range(rounds):
            keep_best("read baseline", read_direct)
            keep_best("read HTTP", read_http)
        served.close()
        kaal = Kaal(tmp / "served.sqlite")
        try:
            bare = kaal_vergelijken(server, kaal, read_ids[0], max(500, n * 5), rounds)
        finally:
            kaal.stop()
    finally:
        server.stop()
        direct.close()
    return {"n": n, "rounds": rounds, "best": best, "kaal": bare}


def report(r: dict) -> str:
    n, best = r["n"], r["best"]
    rate = {k: n / v for k, v in best.items()}
    base = best["baseline"]
    rows = [
        ("baseline: `Loket.ontvang` in-process", "baseline"),
        ("`POST /meldingen`, one keep-alive client", "HTTP"),
        (f"`POST /meldingen`, {CLIENTS} clients at once", f"HTTP, {CLIENTS} clients"),
    ]
    lines = [
        "## HTTP API",
        "",
        f"`python bench/api.py` on {machine()}; {n} fresh meldingen of a synthetic year per contender per round, each "
        f"into its own new SQLite store; best of {r['rounds']} interleaved rounds; server and client "
        "on the same 2 cores, shared with other work while measured.",
        "",
        "| contender | meldingen / s | time vs baseline |",
        "|---|---:|---:|",
    ]
    for label, key in rows:
        lines.append(f"| {label} | {rate[key]:,.0f} | {best[key] / base:.2f}× |")
    lines += [
        "",
        f"Reads: `GET /meldingen/{{id}}` {rate['read HTTP']:,.0f}/s against `Loket.melding(id)` "
        f"{rate['read baseline']:,.0f}/s in-process ({best['read HTTP'] / best['read baseline']:.1f}× the time).",
        "",
        f"The HTTP layer (uvicorn, FastAPI, token check, metrics, log line, a second process) adds "
        f"{(best['HTTP'] - best['baseline']) / n * 1000:.2f} ms per melding to what the application "
        f"does for the same write. {CLIENTS} clients at once take "
        f"{best[f'HTTP, {CLIENTS} clients'] / best['HTTP']:.2f}× the time of one client: their HTTP work "
        f"overlaps while their writes take turns at the one write lock. For bulk loads, `loket ontvang` "
        f"(group commit per 500) remains the fast path.",
        "",
        "Beside a bare FastAPI app on the same machine and store file (bench/bare_api.py: no "
        "middleware, no token, no log line), requests one after another on one keep-alive connection:",
        "",
        "| route | loket / s | bare `def` / s | ratio | bare `async def` / s | ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    k = r["kaal"]
    for label, key in (("`GET /health`", "health"), ("`GET /meldingen/{id}` (one row)", "melding")):
        bare_def, bare_async = k[key + " kaal def"], k[key + " kaal async"]
        lines.append(f"| {label} | {k[key]:,.0f} | {bare_def:,.0f} | {k[key] / bare_def:.2f}× | "
                     f"{bare_async:,.0f} | {k[key] / bare_async:.2f}× |")
    lines += [
        "",
        "The loket's two routes run on the event loop (the token check, the lag of the projections and "
        "the read of one melding are indexed reads, cheaper there than the hand-off to a worker thread "
        "and back); what remains beside the bare route is the token check, the security headers, the "
        "request's log line and metrics, and replaying the melding's events into its aggregate.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    # Each melding is a request and an fsync: a few hundred per contender tell the ratio.
    args = arguments(__doc__, argv, meldingen=400)
    section = report(run(args.meldingen, args.rounds))
    print(section)
    if not args.no_write:
        write_section("## HTTP API", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
