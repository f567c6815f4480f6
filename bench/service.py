"""The decision service under load on loopback, beside `Gate.check` measured in the same run.

For each engine, with 10-line orders (each to its own consignee):

* **engine alone**: evaluations per second of one order's policy input (the
  regime compiled once): what the engine allows on one process, from the
  median evaluation (the saturation goal's measure); beside it, the same
  evaluations' count over their total time (``sustained``), which counts
  the engine's slow evaluations too (OPA's garbage collections);
* **Gate.check**: p50/p99 of a whole check on a SQLite ledger, in process;
* **service, one at a time**: p50/p99 of ``POST /v1/check`` against an
  ``exportgate serve`` process, one request after another (what the service
  adds over ``Gate.check``: HTTP, JSON, the hand-over to the decision thread);
* **fixed rates**: requests sent on a fixed schedule (open loop) at each rate
  for ``--seconds``: p50/p99 and the rate achieved;
* **saturation**: ``--clients`` requests kept in flight for ``--seconds``:
  requests per second, as a share of the engine alone, the mean number
  of checks the server decided together per group (``/metrics``), and the
  CPU time per request of the server process and of this client process
  (on Linux): how much of the two cores each took, whatever else ran.

Bounded: every phase stops after ``--seconds`` or ``--max-requests``,
whichever comes first; the server is stopped at the end.

    python bench/service.py                            # embedded and opa, 50/100/200 req/s
    python bench/service.py --engines opa --rates 200 --seconds 10
    python bench/service.py --engines opa --rates 200 --workers 2 --client raw

``cpu/req`` at saturation is the server's CPU milliseconds per request, plus
this client's: on two cores, their sum bounds the rate whatever the design.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import engines_available, order, pct, samples  # noqa: E402

from exportgate import Gate, Settings  # noqa: E402
from exportgate._plugins import Plugins  # noqa: E402
from exportgate.engines.opa import start_again_with_go_runtime  # noqa: E402
from exportgate._policy import policy_input  # noqa: E402
from exportgate._validate import order_from_dict  # noqa: E402

REGIME = "us-ai-diffusion-2025"
LINES = 10
TOKEN = "bench-token"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``exportgate serve`` with ``engine`` on a fresh SQLite ledger, until `stop`."""

    def __init__(self, engine: str, tmp: Path, workers: int = 1) -> None:
        cfg = tmp / f"{engine}.yaml"
        cfg.write_text(json.dumps({
            "engine": {"name": engine}, "ledger": f"sqlite:///{tmp / (engine + '-svc.db')}",
            "service": {"tokens": [{"name": "bench", "scopes": ["check"],
                                    "sha256": hashlib.sha256(TOKEN.encode()).hexdigest()}],
                        "deadline": 30}}))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        exe = str(Path(sys.executable).parent / "exportgate")
        self.proc = subprocess.Popen([exe, "--config", str(cfg), "serve", "--port",
                                      str(self.port), "--workers", str(workers)],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for _ in range(600):
            try:
                if httpx.get(self.base + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("the server did not come up")

    def cpu_seconds(self) -> float:
        """The server's CPU time so far (user and system; its worker processes' too, with
        ``--workers``), NaN where unknown."""
        total = 0.0
        pids = [self.proc.pid]
        try:
            while pids:
                pid = pids.pop()
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
                pids += [int(c) for c in
                         Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return math.nan
        return total

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


class Orders:
    """Order bodies with fresh ids, encoded before they are timed."""

    def __init__(self, prefix: str) -> None:
        self.prefix, self.n = prefix, 0

    def next(self) -> bytes:
        self.n += 1
        return json.dumps(order(f"{self.prefix}-{self.n}", LINES)).encode()


class HttpxClient:
    """``POST /v1/check`` through httpx (the default: a client as callers write one)."""

    def __init__(self, base: str) -> None:
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
        self._c = httpx.AsyncClient(base_url=base, headers=_auth(), limits=limits, timeout=60)

    async def post(self, body: bytes) -> float:
        """The request's latency, after checking that it was decided."""
        t = time.perf_counter()
        r = await self._c.post("/v1/check", content=body, params={"regime": REGIME})
        if r.status_code != 200 or r.json().get("error"):
            raise RuntimeError(f"{r.status_code}: {r.text[:300]}")
        return time.perf_counter() - t

    async def aclose(self) -> None:
        await self._c.aclose()


class RawClient:
    """``POST /v1/check`` written and read on keep-alive sockets by hand (``--client raw``).

    The least client work a request can take (about a tenth of httpx's CPU
    per request): on a two-core machine the client shares the cores with
    the server, so this shows what the server does with the cores httpx
    would otherwise take. Only for this bench's own requests and answers.
    """

    def __init__(self, base: str) -> None:
        host, _, port = base.removeprefix("http://").partition(":")
        self._address = (host, int(port))
        self._head = (f"POST /v1/check?regime={REGIME} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                      f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
                      "Content-Length: ").encode()
        self._free: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._all: list[asyncio.StreamWriter] = []

    async def post(self, body: bytes) -> float:
        """The request's latency, after checking that it was decided."""
        t = time.perf_counter()
        if self._free:
            reader, writer = self._free.pop()
        else:
            reader, writer = await asyncio.open_connection(*self._address)
            self._all.append(writer)
        writer.write(self._head + str(len(body)).encode() + b"\r\n\r\n" + body)
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        data = await reader.readexactly(length)
        if status != 200 or json.loads(data).get("error"):
            raise RuntimeError(f"{status}: {data[:300]!r}")
        elapsed = time.perf_counter() - t
        self._free.append((reader, writer))
        return elapsed

    async def aclose(self) -> None:
        for writer in self._all:
            writer.close()


Client = HttpxClient | RawClient
CLIENTS: dict[str, type[HttpxClient] | type[RawClient]] = {
    "httpx": HttpxClient, "raw": RawClient}


async def one_at_a_time(c: Client, orders: Orders, seconds: float,
                        limit: int) -> list[float]:
    out: list[float] = []
    await c.post(orders.next())  # warm-up
    stop = time.perf_counter() + seconds
    while len(out) < 5 or (time.perf_counter() < stop and len(out) < limit):
        out.append(await c.post(orders.next()))
    return out


async def fixed_rate(c: Client, orders: Orders, rate: float, seconds: float,
                     limit: int) -> tuple[list[float], float]:
    """Requests sent every 1/rate s (open loop): latencies and the rate achieved."""
    count = min(limit, max(1, int(rate * seconds)))
    bodies = [orders.next() for _ in range(count)]
    start = time.perf_counter()

    async def send(i: int) -> float:
        await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
        return await c.post(bodies[i])
    latencies = await asyncio.gather(*(send(i) for i in range(count)))
    elapsed = time.perf_counter() - start
    return list(latencies), count / elapsed


async def saturation(c: Client, orders: Orders, clients: int, seconds: float,
                     limit: int) -> float:
    """Requests per second with ``clients`` requests always in flight."""
    done = 0
    stop = time.perf_counter() + seconds
    start = time.perf_counter()

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop and done < limit:
            await c.post(orders.next())
            done += 1
    await asyncio.gather(*(worker() for _ in range(clients)))
    return done / (time.perf_counter() - start)


def phase(kind: str, base: str, run: Callable[[Client], Awaitable[T]]) -> T:
    """``run`` with a fresh client of ``kind`` (its own event loop, as each phase)."""
    async def main() -> T:
        c = CLIENTS[kind](base)
        try:
            return await run(c)
        finally:
            await c.aclose()
    return asyncio.run(main())


def group_sizes(base: str) -> tuple[float, float]:
    """(groups, checks in them) the server has decided so far, from ``/metrics``."""
    found = {}
    for line in httpx.get(base + "/metrics").text.splitlines():
        name, _, value = line.partition(" ")
        if name in ("exportgate_decision_group_size_count", "exportgate_decision_group_size_sum"):
            found[name] = float(value)
    return (found["exportgate_decision_group_size_count"],
            found["exportgate_decision_group_size_sum"])


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def measure(plugins: Plugins, engine: str, args: argparse.Namespace, tmp: Path
            ) -> dict[str, Any]:
    regime = plugins.regime(REGIME)
    doc = policy_input(order_from_dict(order("RAW", LINES)))
    raw = samples(lambda: plugins.engine(engine).evaluate(regime, "ladders", doc),
                  args.seconds)
    gate = Gate(Settings(), regime_id=REGIME, plugins=plugins, engine=engine,
                ledger_url=f"sqlite:///{tmp / (engine + '-gate.db')}")
    counter = iter(range(10**9))
    checks = samples(lambda: gate.check(order(f"G-{next(counter)}", LINES)), args.seconds,
                     at_most=args.max_requests)
    gate.close()
    server = Server(engine, tmp, args.workers)
    try:
        orders = Orders("S")
        kind, base = args.client, server.base
        serial = phase(kind, base, lambda c: one_at_a_time(c, orders, args.seconds,
                                                           args.max_requests))
        rates = []
        for rate in args.rates:
            def at_rate(c: Client, r: float = rate) -> Awaitable[tuple[list[float], float]]:
                return fixed_rate(c, orders, r, args.seconds, args.max_requests)
            lat, achieved = phase(kind, base, at_rate)
            rates.append({"rate": rate, "achieved": achieved, "p50_ms": pct(lat, 50) * 1e3,
                          "p99_ms": pct(lat, 99) * 1e3})
        groups_before = group_sizes(server.base)
        cpu_before = server.cpu_seconds(), _own_cpu()
        wall = time.perf_counter()
        saturated = phase(kind, base, lambda c: saturation(c, orders, args.clients,
                                                           args.seconds, args.max_requests))
        served = saturated * (time.perf_counter() - wall)
        cpu_after = server.cpu_seconds(), _own_cpu()
        groups_after = group_sizes(server.base)
    finally:
        server.stop()
    engine_rate = 1 / statistics.median(raw)
    sustained = len(raw) / sum(raw)
    return {"engine": engine, "engine_per_s": engine_rate, "engine_sustained_per_s": sustained,
            "raw_p50_ms": statistics.median(raw) * 1e3,
            "gate_p50_ms": statistics.median(checks) * 1e3, "gate_p99_ms": pct(checks, 99) * 1e3,
            "service_p50_ms": statistics.median(serial) * 1e3,
            "service_p99_ms": pct(serial, 99) * 1e3,
            "added_p50_ms": (statistics.median(serial) - statistics.median(checks)) * 1e3,
            "rates": rates, "saturation_per_s": saturated,
            "saturation_group_mean": (groups_after[1] - groups_before[1])
            / max(1.0, groups_after[0] - groups_before[0]) if args.workers == 1 else math.nan,
            "saturation_share": saturated / engine_rate,
            "saturation_share_sustained": saturated / sustained,
            "server_cpu_ms": (cpu_after[0] - cpu_before[0]) / served * 1e3,
            "client_cpu_ms": (cpu_after[1] - cpu_before[1]) / served * 1e3}


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engines", default="embedded,opa")
    ap.add_argument("--rates", type=float, nargs="+", default=[50, 100, 200])
    ap.add_argument("--seconds", type=float, default=3.0, help="duration of each phase")
    ap.add_argument("--max-requests", type=int, default=2000, help="cap of each phase")
    ap.add_argument("--clients", type=int, default=8, help="in flight at saturation")
    ap.add_argument("--workers", type=int, default=1,
                    help="the server's worker processes (exportgate serve --workers); the "
                         "share stays against one engine alone; the mean group is not shown "
                         "with several (each worker counts its own)")
    ap.add_argument("--client", choices=sorted(CLIENTS), default="httpx",
                    help="the HTTP client the requests go through (raw: the least client "
                         "work, to see the server's share of the two cores)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    # The engine alone and Gate.check on opa as the server runs them:
    start_again_with_go_runtime([sys.executable, *sys.argv])
    os.environ.setdefault("EXPORTGATE_LOAD_PLUGINS", "")
    plugins = Plugins(Settings())
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for engine in engines_available(plugins, args.engines.split(",")):
            results.append(measure(plugins, engine, args, Path(tmp)))
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"{'engine':9} {'engine/s':>9} {'Gate p50':>9} {'p99':>7} {'svc p50':>8} {'p99':>7} "
          f"{'added':>7} {'sat/s':>7} {'share':>6} {'group':>6} {'cpu/req':>14}")
    for r in results:
        print(f"{r['engine']:9} {r['engine_per_s']:9.0f} {r['gate_p50_ms']:8.2f}ms "
              f"{r['gate_p99_ms']:6.1f}ms {r['service_p50_ms']:7.2f}ms "
              f"{r['service_p99_ms']:6.1f}ms {r['added_p50_ms']:6.2f}ms "
              f"{r['saturation_per_s']:7.0f} {r['saturation_share']:6.0%} "
              f"{r['saturation_group_mean']:6.1f} "
              f"{r['server_cpu_ms']:4.2f}+{r['client_cpu_ms']:4.2f} ms")
        print(f"  engine alone sustained {r['engine_sustained_per_s']:.0f} /s: saturation is "
              f"{r['saturation_share_sustained']:.0%} of it")
        for x in r["rates"]:
            print(f"  {x['rate']:5.0f} req/s (achieved {x['achieved']:5.0f}): "
                  f"p50 {x['p50_ms']:6.2f} ms, p99 {x['p99_ms']:6.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
