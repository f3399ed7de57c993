"""A real, throw-away PostgreSQL server: initdb and pg_ctl in a temporary directory.

Used by the test fixtures and by the benchmarks. The server listens on
127.0.0.1 on a free port with trust authentication, and is removed when
stopped. PostgreSQL refuses to run as root; as root the server runs as the
`postgres` user that the Debian package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

USER = "loket"


def bin_dir() -> Path | None:
    """The newest installed PostgreSQL's binaries (Debian layout), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    """Still a process, and not a zombie waiting for its parent."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@dataclass
class PostgresServer:
    """One server. `durable=False` turns fsync off: fine for tests, not for benchmarks."""

    durable: bool = False
    superuser: str = USER  # the role initdb makes; "postgres" as in the postgres image
    bindir: Path = field(default_factory=lambda: bin_dir() or Path("/nonexistent"))
    port: int = field(default_factory=_free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="loket-pg-")))
    _databases: int = 0

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        as_user = {}
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            as_user = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            capture_output=True, text=True, check=check, timeout=120, cwd=self.root, **as_user,
        )

    def start(self) -> PostgresServer:
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        # --no-sync: a throw-away cluster need not wait for its files to reach the disk.
        self._run("initdb", "-D", str(self.data), "-U", self.superuser, "--auth=trust", "-E", "UTF8", "--locale=C",
                  "--no-sync")
        self.start_again()
        return self

    def start_again(self) -> None:
        """Start the server (again, after `shut_down`) on its data directory."""
        options = [
            "-c listen_addresses=127.0.0.1",
            f"-c port={self.port}",
            f"-c unix_socket_directories={self.root}",
            "-c max_connections=200",
        ]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        started = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"),
                            "-o", " ".join(options), "-w", "-t", "60", "start", check=False)
        if started.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace").splitlines()[-15:]
            raise RuntimeError("PostgreSQL did not start: " + started.stderr + "\n".join(log))

    def restart(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-m", "fast", "-w", "-t", "60", "restart")

    def shut_down(self) -> None:
        """Stop the server as an administrator would (its data stays): clients are cut off."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def crash(self) -> None:
        """Kill the server as a power cut would: SIGKILL to the postmaster and every process it
        started, at once, nothing flushed or shut down; then start it again, which recovers from
        its write-ahead log. Only what a commit made durable (fsync on: `durable=True`) is
        promised to be there after it."""
        lock = self.data / "postmaster.pid"
        pid = int(lock.read_text().split()[0])
        os.kill(pid, signal.SIGSTOP)  # it forks no new backend while its family is gathered
        family = [*_children(pid), pid]
        for p in family:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 30
        while any(_alive(p) for p in family):
            if time.monotonic() > deadline:
                raise AssertionError("the killed server's processes did not go away")
            time.sleep(0.05)
        # A container whose first process reaps no orphans keeps the dead postmaster as a zombie,
        # which the new one would take for a running server: its lock files go, as an
        # administrator would remove them once no server process is left.
        lock.unlink()
        (self.root / f".s.PGSQL.{self.port}.lock").unlink(missing_ok=True)
        self.start_again()

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.superuser}@127.0.0.1:{self.port}/{dbname}"

    def new_database(self, prefix: str = "loket", *, owner: str | None = None) -> str:
        """A fresh, empty database; its URL. With `owner`: owned by that role (made when missing, with
        trust login as every role here), which alone may connect; the URL logs in as it."""
        self._databases += 1
        name = f"{prefix}_{self._databases}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            if owner is None:
                conn.execute(f'CREATE DATABASE "{name}"')
                return self.url(name)
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (owner,)).fetchone() is None:
                try:
                    conn.execute(f'CREATE ROLE "{owner}" LOGIN')
                except psycopg.errors.DuplicateObject:
                    pass  # made just now by another test process on this server
            conn.execute(f'CREATE DATABASE "{name}" OWNER "{owner}"')
            conn.execute(f'REVOKE CONNECT, TEMPORARY ON DATABASE "{name}" FROM PUBLIC')
        return f"postgresql://{owner}@127.0.0.1:{self.port}/{name}"

    def password_login(self, *roles: str) -> None:
        """Make these roles log in with their password (scram-sha-256) over TCP; others stay trusted."""
        hba = self.data / "pg_hba.conf"
        lines = "".join(f"host all {role} 127.0.0.1/32 scram-sha-256\n" for role in roles)
        hba.write_text(lines + hba.read_text())
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
