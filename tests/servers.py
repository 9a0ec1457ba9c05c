"""Real servers a test starts for itself, on 127.0.0.1 only: gunicorn serving the app, and Redis.

Both are stopped when the `with` block ends, whatever happened inside it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.postgres import free_port


def _wait_until(ready, process: subprocess.Popen, what: str, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if ready():
                return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start: {log.read_text()}")
        time.sleep(0.1)


def _answers(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status == 200


def app_environment(database_url: str, env: dict | None = None) -> dict:
    """The environment of a served app, or of a command run beside it (the same key and address)."""
    environment = os.environ | {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "served-test-secret",
        "BASE_URL": "http://clinic.test",
    } | (env or {})
    environment.pop("FLASK_DEBUG", None)
    return environment


@contextmanager
def gunicorn(database_url: str, folder: Path, *, workers: int = 4, threads: int = 2, env: dict | None = None,
             access_log: Path | None = None, app: str = "booking:create_app()", ready_path: str = "/healthz"):
    """gunicorn serving the app from `database_url` with `workers` processes; yields its base URL.
    `access_log`, when given, gets one line per request: the worker's process id and the status.
    `app` names another WSGI app to serve instead (the bench's floor), answering 200 at `ready_path`."""
    port = free_port()
    environment = app_environment(database_url, env)
    log_path = folder / f"gunicorn-{port}.log"
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
               "--bind", f"127.0.0.1:{port}", "--timeout", "60"]
    if access_log is not None:
        command += ["--access-logfile", str(access_log), "--access-logformat", "%(p)s %(s)s"]
    with open(log_path, "w") as log:
        server = subprocess.Popen([*command, app], env=environment, stdout=log,
                                  stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until(lambda: _answers(base + ready_path), server, "gunicorn", log_path)
            yield base
        finally:
            server.terminate()
            server.wait(timeout=20)


@contextmanager
def redis_server(folder: Path):
    """Debian's redis-server on a free port, keeping nothing on disk; yields its redis:// URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed (apt-get install redis-server): the shared rate-limit test is skipped"
        if os.environ.get("CI"):
            pytest.fail(message + " - and CI must not skip it")
        pytest.skip(message)
    port = free_port()
    log_path = folder / f"redis-{port}.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
             "--dir", str(folder), "--protected-mode", "yes"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            import redis

            client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)
            _wait_until(client.ping, server, "redis-server", log_path, seconds=20)
            client.close()
            yield f"redis://127.0.0.1:{port}"
        finally:
            server.terminate()
            server.wait(timeout=20)


@contextmanager
def started_together(*servers):
    """Enter several of the servers above at once (a start mostly waits) and stop them at once;
    yields what each yields, in order. Every one that started is stopped, whatever happened."""
    with ThreadPoolExecutor(max_workers=len(servers)) as pool:
        starting = [pool.submit(server.__enter__) for server in servers]
        started = [server for server, start in zip(servers, starting) if start.exception() is None]
        try:
            yield [start.result() for start in starting]
        finally:
            for stop in [pool.submit(server.__exit__, None, None, None) for server in started]:
                stop.result()
