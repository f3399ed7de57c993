"""A burst of expensive reads against a running `loket serve`, with and without the brake on them.

    python bench/burst.py [--meldingen 6000] [--burst 32]

One store of a synthetic year (intake only), one auditor token. Two servers on it in turn:
- without the brake: `--max-heavy-reads 64 --heavy-read-queue 0` (every request in progress,
  up to uvicorn's 64, may replay the store at once);
- with the brake (the defaults): two expensive reads at once, eight more waiting up to 10 s,
  the rest answered 503 with Retry-After.
Each gets one as-of read alone (the baseline), then `--burst` as-of reads at once
(`GET /caseload?as_of=`), while `GET /health` is asked every 0.2 s. Measured: what the burst got
(200, 503, failures), how long it took, how /health answered meanwhile, and the server's peak
memory (VmHWM). Writes the "Expensive reads in a burst" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.results import machine, write_section  # noqa: E402
from events.handelingen import Gebruiker  # noqa: E402
from events.toegang import Rol  # noqa: E402
from loket import synthetic  # noqa: E402
from loket.bootstrap import bootstrap  # noqa: E402
from loket.service import Dienst  # noqa: E402
from loket.settings import Settings  # noqa: E402
from loket.tokens import Tokens  # noqa: E402

AS_OF = "/caseload?as_of=2025-06-30"


def _poort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _store(directory: Path, meldingen: int) -> tuple[dict[str, str], str, int]:
    env = {"LOKET_DB": str(directory / "loket.sqlite"), "LOKET_USER": "bench", "LOKET_LOG_FORMAT": "json",
           "LOKET_ROLE": "beheer"}
    settings = Settings.from_env(env)
    systeem = bootstrap(settings)
    d = Dienst(systeem)
    lines = [line.encode() for _, line in zip(range(meldingen), synthetic.jaar(2025, seed=7, scale=2.0), strict=False)]
    d.ontvang_regels(Gebruiker("bench", Rol.maak("beheer")), lines)
    events = systeem.app.recorder.max_notification_id() or 0
    systeem.close()
    token, _ = Tokens(settings.tokens_db).maak("olga", "auditor", zvh=None, compartimenten=(),
                                               huizen=frozenset({"parkstad", "westelijke-mijnstreek",
                                                                 "maastricht-heuvelland"}))
    return env, token, events


def _serve(env: dict[str, str], log: Path, *opties: str) -> tuple[subprocess.Popen, str]:
    port = _poort()
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "loket.cli", "serve", "--port", str(port), *opties],
                                   env={**os.environ, **env}, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx2.get(url + "/health", timeout=1).status_code == 200:
                return process, url
        except httpx2.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"loket serve did not start:\n{log.read_text()}")
        time.sleep(0.1)


def _piek_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _meet(env: dict[str, str], token: str, burst: int, log: Path, *opties: str) -> dict[str, object]:
    process, url = _serve(env, log, *opties)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        started = time.perf_counter()
        assert httpx2.get(url + AS_OF, headers=headers, timeout=600).status_code == 200
        alleen = time.perf_counter() - started
        gezond: list[float] = []
        klaar = threading.Event()

        def health() -> None:
            while not klaar.is_set():
                t = time.perf_counter()
                try:
                    ok = httpx2.get(url + "/health", timeout=60).status_code == 200
                except httpx2.TransportError:
                    ok = False
                gezond.append(time.perf_counter() - t if ok else float("inf"))
                klaar.wait(0.2)

        def lees(_: int) -> str:
            try:
                return str(httpx2.get(url + AS_OF, headers=headers, timeout=600).status_code)
            except httpx2.TransportError as exc:
                return type(exc).__name__

        poller = threading.Thread(target=health)
        poller.start()
        started = time.perf_counter()
        with ThreadPoolExecutor(burst) as pool:
            answers = Counter(pool.map(lees, range(burst)))
        duur = time.perf_counter() - started
        klaar.set()
        poller.join()
        return {"alleen": alleen, "antwoorden": answers, "duur": duur, "piek_mb": _piek_mb(process.pid),
                "health_p50": statistics.median(gezond), "health_max": max(gezond),
                "health_fout": sum(1 for g in gezond if g == float("inf"))}
    finally:
        process.terminate()
        process.wait(timeout=30)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--meldingen", type=int, default=6_000)
    p.add_argument("--burst", type=int, default=32)
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        env, token, events = _store(directory, args.meldingen)
        zonder = _meet(env, token, args.burst, directory / "zonder.log", "--max-heavy-reads", "64",
                       "--heavy-read-queue", "0")
        met = _meet(env, token, args.burst, directory / "met.log")
    rows = []
    for naam, r in (("without the brake (64 at once)", zonder), ("with the brake (2 at once, 8 waiting)", met)):
        antwoorden = r["antwoorden"]
        assert isinstance(antwoorden, Counter)
        rows.append(f"| {naam} | {r['alleen']:.2f} s | {antwoorden.get('200', 0)} | {antwoorden.get('503', 0)} | "
                    f"{sum(n for k, n in antwoorden.items() if k not in ('200', '503'))} | {r['duur']:.1f} s | "
                    f"{r['health_p50'] * 1000:.0f} ms / {r['health_max'] * 1000:.0f} ms | {r['piek_mb']:.0f} MB |")
    section = "\n".join([
        "## Expensive reads in a burst",
        "",
        f"`python bench/burst.py --meldingen {args.meldingen} --burst {args.burst}` on {machine()} (shared): "
        f"a store of {events} events, "
        f"{args.burst} `GET {AS_OF}` at once (each replays the store), `GET /health` every 0.2 s meanwhile, "
        "the server's peak memory (VmHWM). The brake: `Rem` in loket/service.py, `loket serve "
        "--max-heavy-reads --heavy-read-queue`.",
        "",
        "| server | one as-of alone | 200 | 503 (Retry-After) | failed | burst took | /health p50 / max "
        "| peak memory |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ])
    print(section)
    if not args.no_write:
        write_section("## Expensive reads in a burst", section)


if __name__ == "__main__":
    main()
