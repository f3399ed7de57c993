"""What telling the projections' lag on every answer (X-Loket-Achterstand) costs, side by side.

    python bench/achterstand.py [--requests 2000] [--rounds 3]

bench/api.py's method: `loket serve` processes on stores of the same meldingen, requests one
after another on one keep-alive connection, rounds interleaved, the best round of each counts.
Three servers of this code, differing only in the header:
- zonder: the header left out;
- kort bewaard: as shipped, the lag measured at most once a second (ACHTERSTAND_GELDIG);
- elke keer: the lag measured for every answer (the notification log's newest position and
  every projection's position).
Each is asked `GET /meldingen/{id}` (a cheap route: the header's cost shows) and `GET /health`.
Prints the requests per second; writes nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import httpx2  # noqa: E402

from api import per_seconde  # noqa: E402
from loket.bootstrap import bootstrap  # noqa: E402
from loket.settings import Settings  # noqa: E402
from loket.synthetic import jaar  # noqa: E402
from loket.tokens import Tokens  # noqa: E402
from routing import load_ruleset  # noqa: E402

VARIANTEN = {
    "zonder": "from loket.web.app import Verzoeken\nasync def geen(self): return []\nVerzoeken._achterstand = geen",
    "kort bewaard": "",
    # No measurement is ever recent enough: every answer measures (in the worker thread, as shipped).
    "elke keer": "from loket.service import Dienst; Dienst.achterstand_vers.__kwdefaults__['hooguit'] = -1.0",
}


class Server:
    def __init__(self, store: Path, patch: str):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = {**os.environ, "LOKET_DB": str(store), "LOKET_LOG_FORMAT": "json"}
        code = f"import sys\n{patch}\nfrom loket.cli import main\nsys.exit(main(['serve', '--port', '{self.port}']))"
        self.log = store.parent / "serve.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=HERE.parent,
                                            stdout=log, stderr=subprocess.STDOUT)
        token, _ = Tokens(Settings.from_env(env).tokens_db).maak(
            "bench", "beheer", zvh=None, compartimenten=(), huizen=load_ruleset().zvh_ids)
        self.headers = {"Authorization": f"Bearer {token}"}
        for _ in range(300):
            try:
                answer = httpx2.get(f"http://127.0.0.1:{self.port}/health", timeout=1)
                if answer.status_code == 200:
                    self.met_kopregel = "x-loket-achterstand" in answer.headers
                    return
            except httpx2.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise SystemExit("loket serve did not start:\n" + self.log.read_text(errors="replace")[-3000:])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-achterstand-"))
    try:
        bron = tmp / "bron.sqlite"
        systeem = bootstrap(Settings.from_env({"LOKET_DB": str(bron)}))
        lines = list(jaar(2025, 2025, 0.2))
        ontvangen = systeem.app.ontvang_batch(lines)
        systeem.bij()
        melding = next(o.melding_id for o in ontvangen if o.status == "nieuw")
        systeem.close()
        servers = {}
        for naam, patch in VARIANTEN.items():
            store = tmp / naam.replace(" ", "-") / "loket.sqlite"
            store.parent.mkdir()
            for suffix in ("", ".keys", ".keys.master-key"):
                shutil.copy(f"{bron}{suffix}", f"{store}{suffix}")
            servers[naam] = Server(store, patch)
        try:
            best: dict[tuple[str, str], float] = {}
            for _ in range(args.rounds):
                for naam, server in servers.items():
                    for route in (f"/meldingen/{melding}", "/health"):
                        rate = per_seconde(server.port, route, args.requests, server.headers)
                        key = (naam, route.split("/")[1])
                        best[key] = max(best.get(key, 0.0), rate)
        finally:
            for server in servers.values():
                server.stop()
        print(f"{len(lines)} meldingen in the store; {args.requests} requests a round, best of {args.rounds}")
        for naam, server in servers.items():
            cells = "  ".join(f"{route} {best[(naam, route)]:7.0f}/s ({1e6 / best[(naam, route)]:5.0f} µs)"
                              for route in ("meldingen", "health"))
            print(f"{naam:13} header={'ja ' if server.met_kopregel else 'nee'}  {cells}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
