"""A throwaway PostgreSQL server for the test run, started from the installed binaries.

initdb refuses to run as root, so as root the server runs as the unprivileged user
`nobody`. It listens on 127.0.0.1 only, on a free port, with durability switched
off (nothing here needs to survive a crash), and is removed at the end.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def find_bindir() -> Path | None:
    """Where initdb and pg_ctl live: $PG_BINDIR, the PATH, or Debian's versioned folders."""
    candidates = [os.environ.get("PG_BINDIR")]
    on_path = shutil.which("initdb")
    candidates.append(str(Path(on_path).parent) if on_path else None)
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in filter(None, candidates):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def installed_version() -> str:
    """`postgres --version` of the binaries the tests would start, or "" when none are installed."""
    bindir = find_bindir()
    if bindir is None:
        return ""
    return subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True).stdout.strip()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PostgresServer:
    bindir: Path
    root: Path
    port: int
    user: str

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, cwd=self.root)

    def start(self) -> None:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "--auth=trust", "-E", "UTF8",
                  "--locale=C", "-U", self.user)
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.root / "server.log"), "-w", "-t", "60", "start")

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_server() -> PostgresServer | None:
    """Start a server, or return None when no PostgreSQL binaries are installed."""
    bindir = find_bindir()
    if bindir is None:
        return None
    root = Path(tempfile.mkdtemp(prefix="booking-pg-"))
    user = pwd.getpwuid(os.geteuid()).pw_name
    if os.geteuid() == 0:
        user = "nobody"
        root.chmod(0o755)
        os.chown(root, pwd.getpwnam(user).pw_uid, -1)
    server = PostgresServer(bindir=bindir, root=root, port=free_port(), user=user)
    server.start()
    return server
