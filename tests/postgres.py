"""A throwaway PostgreSQL cluster for the tests: initdb into a temporary folder, a server on a free port that listens
on its unix socket only (in that folder), one fresh database per caller; stopped and removed at the end.

initdb and postgres refuse to run as root, which the tests are here and in CI: as root they run as the `postgres`
system user Debian's package creates, in a folder that user owns.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

_SETTINGS = {  # a test cluster: nothing here needs to survive a crash of the machine
    "listen_addresses": "''",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
    "shared_buffers": "64MB",
}


def bindir() -> Path | None:
    """The newest installed server's binaries (Debian: /usr/lib/postgresql/<version>/bin), else pg_config's."""
    found = sorted(
        (Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1]
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return Path(out) if (Path(out) / "initdb").exists() and (Path(out) / "pg_ctl").exists() else None


def unavailable() -> str | None:
    """Why no cluster can be started here (None when one can)."""
    if bindir() is None:
        return "PostgreSQL server binaries not found (Debian: apt-get install postgresql; `make test` does)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a `postgres` system user to run initdb and the server as"
        if shutil.which("runuser") is None:
            return "running as root without runuser to start PostgreSQL as the `postgres` user"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -r requirements.txt)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """One server in its own folder; `database()` makes a fresh database and gives its URL."""

    def __init__(self):
        self.bin = bindir()
        self.root = Path(tempfile.mkdtemp(prefix="scoring-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._owner = None
        if os.geteuid() == 0:
            self._owner = pwd.getpwnam("postgres")
            os.chown(self.root, self._owner.pw_uid, self._owner.pw_gid)
        self._count = 0

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._owner is not None:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")

    def start(self) -> Cluster:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C")
        options = " ".join(f"-c {k}={v}" for k, v in _SETTINGS.items())
        options += f" -c unix_socket_directories={self.root} -p {self.port}"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-o", options, "start")
        return self

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@/{dbname}?host={self.root}&port={self.port}"

    def database(self, template: str | None = None) -> str:
        """A new database's URL: empty, or a file-level copy of the database at URL `template` (fast: a store is
        migrated once, then copied per test), which no connection may be using."""
        import psycopg
        from psycopg.conninfo import conninfo_to_dict

        self._count += 1
        name = f"scoring_test_{self._count}"
        copy = f" TEMPLATE {conninfo_to_dict(template)['dbname']}" if template else ""
        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(f"CREATE DATABASE {name}{copy}")
        return self.url(name)

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
