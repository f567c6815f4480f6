"""A real, throw-away PostgreSQL server for the ledger tests.

Debian's server binaries (``make postgres`` installs them) are run from
``/usr/lib/postgresql/<version>/bin``: ``initdb`` on a temporary data
directory, ``pg_ctl`` to start the server on a free loopback port with its
unix socket inside that directory, and to stop it afterwards. PostgreSQL
refuses to run as root, so under root the server runs as the system user
``egpg`` (created once with ``useradd`` when missing).

The server is tuned for tests, not for power loss: ``fsync=off`` and
``full_page_writes=off``. The crash tests kill the *client* (SIGKILL of an
``exportgate batch``), and what a committed transaction is to other clients
does not depend on fsync; surviving a power cut is PostgreSQL's own job.
"""
from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import psycopg

SERVER_USER = "egpg"
SUPERUSER = "postgres"
MISSING = ("PostgreSQL server binaries (initdb, pg_ctl) not found under "
           "/usr/lib/postgresql/*/bin or on PATH: run `make postgres` "
           "(bash .ci/ensure-postgres.sh) to install Debian's postgresql package")


def find_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<v>/bin`` with initdb and pg_ctl, else PATH's."""
    def version(path: str) -> tuple[int, ...]:
        m = re.search(r"/postgresql/([\d.]+)/bin", path)
        return tuple(int(x) for x in m.group(1).split(".")) if m else (0,)

    for initdb in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version,
                         reverse=True):
        bindir = Path(initdb).parent
        if (bindir / "pg_ctl").exists():
            return bindir
    found = shutil.which("initdb")
    if found:
        bindir = Path(os.path.realpath(found)).parent
        if (bindir / "pg_ctl").exists():
            return bindir
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ensure_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    proc = subprocess.run(
        ["useradd", "--system", "--user-group", "--no-create-home",
         "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name],
        capture_output=True, text=True)
    try:
        return pwd.getpwnam(name)  # created now, or by a concurrent run
    except KeyError:
        raise RuntimeError(f"cannot create the user {name!r} to run PostgreSQL as: "
                           f"{proc.stderr.strip()}") from None


class PgServer:
    """One PostgreSQL cluster: ``start()``, ``url()``, ``create_database()``, ``stop()``."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="exportgate-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "server.log"
        self.port = 0
        self._dbs = 0
        self._shared_db = ""
        self._as: dict[str, Any] = {}
        if os.geteuid() == 0:
            user = _ensure_user(SERVER_USER)
            self._as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self.sockets.mkdir()
        if self._as:
            os.chown(self.sockets, self._as["user"], self._as["group"])

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([str(self.bindir / args[0]), *args[1:]], cwd=self.root,
                              capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "LC_ALL": "C", "LANG": "C"}, **self._as)
        if proc.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} failed ({proc.returncode}): "
                               f"{proc.stdout[-1000:]}{proc.stderr[-2000:]}\n{log}")
        return proc

    def start(self) -> "PgServer":
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
                  "--encoding=UTF8", "--no-locale", "--no-sync", "--no-instructions")
        last: Exception | None = None
        for _ in range(5):  # another process may take the port between probe and bind
            self.port = free_port()
            options = " ".join([
                f"-p {self.port}", "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.sockets}",
                "-c fsync=off", "-c full_page_writes=off", "-c max_connections=100",
                "-c shared_buffers=32MB", "-c log_min_messages=warning",
            ])
            try:
                self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w",
                          "-t", "60", "-o", options, "start")
                return self
            except RuntimeError as exc:
                last = exc
                if "Address already in use" not in self.log.read_text(errors="replace"):
                    break
        raise RuntimeError(f"PostgreSQL did not start: {last}")

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres", **kwargs: Any) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url(dbname), **kwargs)

    def create_database(self, prefix: str = "eg") -> str:
        """A fresh, empty database (its ``public`` schema); returns its URL."""
        self._dbs += 1
        name = f"{prefix}_{os.getpid()}_{self._dbs}"
        with self.connect(autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def create_schema(self, prefix: str = "eg") -> str:
        """A fresh, empty schema in the shared test database; returns a ledger URL
        whose ``search_path`` points at it.

        A thousand times cheaper than a database (0.3 ms against 0.3 s), which
        the repeated race and crash runs need. Advisory locks are per database,
        so ledgers in two schemas share the lock space: harmless, the tests
        that use them run one after another.
        """
        self._dbs += 1
        name = f"{prefix}_{os.getpid()}_{self._dbs}"
        if not self._shared_db:
            self._shared_db = self.create_database("ledgers")
        with psycopg.connect(self._shared_db, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        return f"{self._shared_db}?options=-c%20search_path%3D{name}"

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

