"""Bounded load for `make bench`: a fixed number of connections, each sending its next request
as soon as the last is answered, for a fixed time.

wrk does it when it is installed (it costs the machine little, so the servers get the CPU);
otherwise a small Python client does, with threads and keep-alive connections, timing each
request itself. The Python client takes CPU from the servers on a small machine, so its
numbers are lower; the bench's table says which one ran.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

LUA_SCRIPT = Path(__file__).with_name("bench_load.lua")
WRK_THREADS = 2


@dataclass(frozen=True)
class Target:
    """What to ask: a GET of `path`, or with `bodies` a POST of each body in turn, each once."""

    path: str
    cookie: str | None = None
    bodies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Run:
    """What one bounded run measured. Errors: answers that are not 2xx, and broken connections."""

    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    ran_out: bool = False  # a POST run used every body before its time was up

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def load_tool() -> str:
    """'wrk' when it is on the PATH, unless BENCH_CLIENT=python asks for the Python client."""
    if os.environ.get("BENCH_CLIENT", "").lower() != "python" and shutil.which("wrk"):
        return "wrk"
    return "python"


def drive(tool: str, base: str, target: Target, *, seconds: float, connections: int) -> Run:
    runner = run_wrk if tool == "wrk" else run_python_client
    return runner(base, target, seconds=seconds, connections=connections)


def run_wrk(base: str, target: Target, *, seconds: float, connections: int) -> Run:
    threads = min(WRK_THREADS, connections)
    command = ["wrk", "--threads", str(threads), "--connections", str(connections),
               "--duration", f"{max(1, round(seconds))}s", "--timeout", "30s", "--script", str(LUA_SCRIPT)]
    if target.cookie:
        command += ["--header", f"Cookie: {target.cookie}"]
    with tempfile.TemporaryDirectory(prefix="booking-bench-wrk-") as folder:
        command.append(base + target.path)
        if target.bodies:
            bodies = Path(folder) / "bodies.jsonl"
            bodies.write_text("\n".join(target.bodies) + "\n")
            command += ["--", str(bodies), str(threads)]
        finished = subprocess.run(command, capture_output=True, text=True, check=True)
    line = next((line for line in finished.stdout.splitlines() if line.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary: {finished.stdout}{finished.stderr}")
    summary = json.loads(line.removeprefix("BENCH "))
    return Run(requests=summary["requests"], errors=summary["non_2xx"] + summary["socket_errors"],
               seconds=summary["seconds"], p50_ms=summary["p50_ms"], p99_ms=summary["p99_ms"],
               ran_out=bool(summary["ran_out"]))


def run_python_client(base: str, target: Target, *, seconds: float, connections: int) -> Run:
    address = urlsplit(base)
    headers = {"Cookie": target.cookie} if target.cookie else {}
    if target.bodies:
        headers["Content-Type"] = "application/json"
    latencies: list[float] = []
    errors = 0
    ran_out = False
    tally = threading.Lock()
    deadline = time.monotonic() + seconds

    def connection_loop(index: int) -> None:
        nonlocal errors, ran_out
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        share = iter(target.bodies[index::connections])  # each connection its own bodies: none sent twice
        mine: list[float] = []
        failed = 0
        try:
            while time.monotonic() < deadline:
                body = next(share, None) if target.bodies else None
                if target.bodies and body is None:
                    ran_out = True
                    break
                started = time.perf_counter()
                try:
                    connection.request("POST" if body else "GET", target.path, body=body, headers=headers)
                    response = connection.getresponse()
                    response.read()  # the whole answer, so the connection can carry the next request
                    ok = 200 <= response.status < 300
                except (OSError, http.client.HTTPException):
                    connection.close()  # the next request opens a new connection
                    ok = False
                mine.append((time.perf_counter() - started) * 1000)
                failed += not ok
        finally:
            connection.close()
            with tally:
                latencies.extend(mine)
                errors += failed

    started = time.monotonic()
    workers = [threading.Thread(target=connection_loop, args=(n,)) for n in range(connections)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    return Run(requests=len(latencies), errors=errors, seconds=elapsed, p50_ms=_percentile(latencies, 50),
               p99_ms=_percentile(latencies, 99), ran_out=ran_out)


def _percentile(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]
