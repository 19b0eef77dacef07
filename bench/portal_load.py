"""Load test of the public portal with a real load generator (wrk, Debian package) on loopback only.

    python bench/portal_load.py [--rate 200] [--seconds 60] [--flood-seconds 20] [--workers 1] [--keep]

Phases, all against ``idolguard portal serve`` on 127.0.0.1 with a fresh SQLite workspace:
1. baselines: 200 sequential reports (one client, no load), then ``GET /healthz`` (a trivial JSON answer of
   the same server) paced by wrk at ``--rate`` for 15 s: what the machine gives any request right now;
2. load: wrk paced at ``--rate`` reports/s for ``--seconds`` (open loop: each wrk thread follows a fixed
   schedule of send times, so a slow server does not slow the offered rate down; 1 connection per 2 reports/s
   in flight at most); every request a distinct pre-solved challenge and a distinct reporter address
   (X-Forwarded-For from the loopback range 127.16.0.0/12, the portal trusting the local proxy 127.0.0.1 as
   it would trust nginx in production); p50/p95/p99, achieved rate, status counts; then the database is
   checked: every 201 is exactly one stored report (receipts, challenge nonces and custody events unique and
   equal in number);
3. flood: one address (127.9.9.9) sends as fast as wrk can while other addresses send 50 reports/s (paced);
   counts of 201/429 per side and the others' p95.

Latencies are wrk's (from sending a request to its answer). Challenges use 8 bits of work here: the server's
cost of checking one is a single SHA-256 whatever the difficulty, so this measures the server; the
difficulty only changes the client's cost. Nothing but loopback addresses is ever contacted (reported URLs
are example.org links, never fetched: no capture worker runs). The load average and the portal's CPU
seconds are printed with the results: on a shared machine, read the numbers against them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from idolguard.portal.challenge import solve

ARTIST = "Bench Artist"
LUA = r"""
local lines = {}
local index = 0
counts = {}
local threads = {}
local tid = 0
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
local method = os.getenv("BENCH_METHOD") or "POST"
local path = os.getenv("BENCH_PATH") or "/api/reports"
-- Open-loop pacing (as wrk2 does): each thread sends on a fixed schedule of BENCH_RATE / threads per second,
-- whatever the answers' latency, as long as it has an idle connection.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_usec; } bench_timeval;
int gettimeofday(bench_timeval *tv, void *tz);
]]
local tv = ffi.new("bench_timeval")
local function now_ms()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000 + tonumber(tv.tv_usec) / 1000
end
local interval_ms = 0
local next_ms = nil

function setup(thread)
  thread:set("id", tid)
  tid = tid + 1
  table.insert(threads, thread)
end

function init(args)
  local nthreads = tonumber(os.getenv("BENCH_THREADS"))
  local rate = tonumber(os.getenv("BENCH_RATE") or "0")
  if rate > 0 then interval_ms = 1000 * nthreads / rate end
  local n = 0
  for line in io.lines(os.getenv("BENCH_BODIES")) do
    if n % nthreads == id then
      local xff, body = line:match("^([^\t]*)\t(.*)$")
      table.insert(lines, {xff, body})
    end
    n = n + 1
  end
  counts = {}
  receipts = io.open(os.getenv("BENCH_RECEIPTS") .. "." .. id, "w")
end

function request()
  index = index + 1
  local item = lines[((index - 1) % #lines) + 1]
  local headers = {["Content-Type"] = "application/json"}
  if item[1] ~= "" then headers["X-Forwarded-For"] = item[1] end
  if method == "GET" then return wrk.format("GET", path, headers) end
  return wrk.format("POST", path, headers, item[2])
end

function delay()
  if interval_ms == 0 then return delay_ms end
  local now = now_ms()
  if next_ms == nil then next_ms = now end
  next_ms = next_ms + interval_ms
  if next_ms < now then return 0 end
  return math.floor(next_ms - now)
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
  if status == 201 then
    local receipt = body:match('"receipt":"(R%-[%w%-]+)"')
    receipts:write((receipt or "?") .. "\n")
    receipts:flush()
  end
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    local c = thread:get("counts") or {}
    for k, v in pairs(c) do merged[tostring(k)] = (merged[tostring(k)] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(merged) do table.insert(parts, string.format('"%s": %d', k, v)) end
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, ' ..
    '"errors": %d, "status": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout + summary.errors.status
      - (merged["429"] or 0) - (merged["422"] or 0),
    table.concat(parts, ", ")))
end
"""


def start_portal(home: Path, port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "IDOLGUARD_HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "idolguard.cli", "portal", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"portal did not start: {proc.stderr.read().decode() if proc.stderr else ''}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the portal process and its children (uvicorn workers), from /proc."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for one in pids:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def bodies(client: httpx.Client, count: int, prefix: str, xff: str | None) -> list[str]:
    lines = []
    for n in range(count):
        ch = client.get("/api/challenge").json()
        body = {
            "urls": [f"https://example.org/{prefix}/{n}", f"https://example.org/{prefix}/{n}/b"],
            "category": "ai_deepfake",
            "artist": ARTIST,
            "note": "bench",
            "challenge": {"token": ch["token"], "solution": solve(ch["token"], ch["bits"])},
        }
        address = xff or f"127.{16 + (n >> 16) % 16}.{(n >> 8) & 255}.{n & 255}"
        lines.append(f"{address}\t{json.dumps(body, separators=(',', ':'))}")
    return lines


def wrk(
    url: str,
    lines: list[str],
    folder: Path,
    name: str,
    *,
    seconds: int,
    connections: int,
    delay_ms: int = 0,
    rate: int = 0,
    method: str = "POST",
    path: str = "/api/reports",
) -> dict:
    data = folder / f"{name}.tsv"
    data.write_text("\n".join(lines) + "\n")
    script = folder / "bench.lua"
    script.write_text(LUA)
    threads = 2
    env = {
        **os.environ,
        "BENCH_BODIES": str(data),
        "BENCH_THREADS": str(threads),
        "BENCH_DELAY_MS": str(delay_ms),
        "BENCH_RATE": str(rate),
        "BENCH_METHOD": method,
        "BENCH_PATH": path,
        "BENCH_RECEIPTS": str(folder / f"{name}.receipts"),
    }
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise SystemExit(f"wrk failed ({out.returncode}): {out.stdout[-2000:]} {out.stderr[-2000:]}")
    found = [row for row in out.stdout.splitlines() if row.startswith("BENCH ")]
    if not found:
        raise SystemExit(f"wrk printed no summary: {out.stdout[-2000:]} {out.stderr[-2000:]}")
    line = found[0]
    result = json.loads(line[6:])
    result["rate"] = result["requests"] / (result["duration_us"] / 1e6)
    result["receipts"] = [
        line for path in folder.glob(f"{name}.receipts.*") for line in path.read_text().splitlines() if line
    ]
    return result


def check_database(home: Path, receipts_seen: list[str] | None = None) -> dict:
    from sqlalchemy import func, select

    from idolguard.db.models import LedgerEntry
    from idolguard.portal.models import PortalReport
    from idolguard.workspace import Workspace

    ws = Workspace.open(home)
    with ws.sessions() as session:
        reports = session.scalar(select(func.count()).select_from(PortalReport))
        receipts = session.scalar(select(func.count(func.distinct(PortalReport.receipt))))
        nonces = session.scalar(select(func.count(func.distinct(PortalReport.challenge_nonce))))
        events = session.scalar(select(func.count()).where(LedgerEntry.action == "portal.report"))
        found = 0
        if receipts_seen:
            for chunk in range(0, len(receipts_seen), 500):
                part = receipts_seen[chunk : chunk + 500]
                found += session.scalar(select(func.count()).where(PortalReport.receipt.in_(part)))
    ws.close()
    return {
        "reports": reports,
        "distinct_receipts": receipts,
        "distinct_nonces": nonces,
        "custody_events": events,
        "client_receipts_found": found,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--flood-seconds", type=int, default=20)
    parser.add_argument("--port", type=int, default=18480)
    parser.add_argument("--workers", type=int, default=1, help="Portal processes (uvicorn workers).")
    parser.add_argument("--keep", action="store_true", help="Keep the bench workspace.")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Another [portal] setting (e.g. busy_batch_ms=80).",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk; scripts/system-deps.sh)")
    folder = Path(tempfile.mkdtemp(prefix="idolguard-portal-bench-"))
    home = folder / "ws"
    subprocess.run(
        [sys.executable, "-m", "idolguard.cli", "init", "--home", str(home)], check=True, capture_output=True
    )
    config = home / "config.toml"
    text = config.read_text(encoding="utf-8")
    for key, value in {
        "artists": f'["{ARTIST}"]',
        "pow_bits": "8",
        "trusted_proxies": '["127.0.0.1/32"]',
        "challenges_per_ip_per_minute": "1000000",
        **dict(item.split("=", 1) for item in args.set),
    }.items():
        text = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", text, count=1)
    config.write_text(text, encoding="utf-8")
    base = f"http://127.0.0.1:{args.port}"
    proc = start_portal(home, args.port, args.workers)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            main_count = int(args.rate * args.seconds * 1.15) + 100
            flood_others = int(50 * args.flood_seconds * 1.3) + 50
            load_lines = bodies(client, main_count, "load", None)
            flood_lines = bodies(client, 50, "flood", "127.9.9.9")
            other_lines = bodies(client, flood_others, "others", None)
            other_lines = [line.replace("\t", "\t", 1).replace("127.", "127.1", 1) for line in other_lines]
            base_lines = bodies(client, 200, "baseline", None)
            base_ms = []
            for line in base_lines:
                xff, body = line.split("\t", 1)
                xff = xff.replace("127.", "127.2", 1)
                started = time.perf_counter()
                reply = client.post(
                    "/api/reports", content=body, headers={"Content-Type": "application/json", "X-Forwarded-For": xff}
                )
                base_ms.append((time.perf_counter() - started) * 1000)
                assert reply.status_code == 201, reply.text
        baseline = {"median_ms": statistics.median(base_ms), "p95_ms": statistics.quantiles(base_ms, n=20)[18]}
        print(
            f"baseline (sequential, unloaded): median {baseline['median_ms']:.1f} ms, p95 {baseline['p95_ms']:.1f} ms"
            f"; load average {os.getloadavg()}"
        )
        connections = max(8, args.rate // 2)
        static = wrk(
            base,
            ["\t", "\t"],  # one (empty) line per wrk thread
            folder,
            "static",
            seconds=15,
            connections=connections,
            rate=args.rate,
            method="GET",
            path="/healthz",
        )
        static.pop("receipts", None)
        print(
            f"baseline GET /healthz paced at {args.rate}/s: {static['rate']:.1f}/s, p50 {static['p50_ms']:.1f} ms, "
            f"p95 {static['p95_ms']:.1f} ms, p99 {static['p99_ms']:.1f} ms; load average {os.getloadavg()}"
        )
        before = check_database(home)["reports"]
        cpu_before = cpu_seconds(proc.pid)
        load = wrk(base, load_lines, folder, "load", seconds=args.seconds, connections=connections, rate=args.rate)
        load["server_cpu_s"] = cpu_seconds(proc.pid) - cpu_before
        load["loadavg"] = os.getloadavg()
        after = check_database(home, load["receipts"])
        accepted = load["status"].get("201", 0)
        print(
            f"load: {load['rate']:.1f} reports/s for {load['duration_us'] / 1e6:.0f} s, p50 {load['p50_ms']:.1f} ms, "
            f"p95 {load['p95_ms']:.1f} ms, p99 {load['p99_ms']:.1f} ms (p95 {load['p95_ms'] / static['p95_ms']:.2f}x "
            f"the paced GET's), status {load['status']}, socket errors {load['errors']}"
        )
        stored = after["reports"] - before
        per_report_ms = 1000 * load["server_cpu_s"] / max(1, stored)
        print(
            f"server CPU: {load['server_cpu_s']:.1f} s for {stored} reports = {per_report_ms:.2f} ms per report "
            f"(one free core would serve about {1000 / per_report_ms:.0f} reports/s); load average {os.getloadavg()}"
        )
        # Every 201 the client saw is a stored report (its receipt is found, receipts are unique), each stored
        # report used a distinct challenge and has its custody event. Reports stored but not seen by wrk are
        # the requests in flight when wrk stopped its clock (it drops their responses).
        exact = after["client_receipts_found"] == len(set(load["receipts"])) == accepted
        exact = exact and after["distinct_receipts"] == after["reports"] == after["distinct_nonces"]
        exact = exact and after["custody_events"] == after["reports"] and stored >= accepted
        print(
            f"stored exactly once: {exact} ({accepted} accepted and all found, {stored} stored, "
            f"{stored - accepted} in flight at cut-off; {after})"
        )
        del load["receipts"]
        import threading

        flood_result: dict = {}

        def run_flood() -> None:
            try:
                flood_result.update(
                    wrk(base, flood_lines, folder, "flood", seconds=args.flood_seconds, connections=8, delay_ms=0)
                )
            except BaseException as exc:  # noqa: BLE001 - reported below
                flood_result["error"] = repr(exc)

        flooder = threading.Thread(target=run_flood)
        flooder.start()
        others = wrk(base, other_lines, folder, "others", seconds=args.flood_seconds, connections=25, rate=50)
        flooder.join()
        if "error" in flood_result:
            raise SystemExit(f"flood generator failed: {flood_result['error']}")
        flood_result.pop("receipts", None)
        others.pop("receipts", None)
        print(
            f"flood from one address: {flood_result['rate']:.0f} requests/s, status {flood_result['status']}; "
            f"others meanwhile: {others['rate']:.1f} reports/s, status {others['status']}, "
            f"p95 {others['p95_ms']:.1f} ms"
        )
        summary = {
            "baseline": baseline,
            "baseline_get_paced": static,
            "workers": args.workers,
            "load": load,
            "stored_exactly_once": exact,
            "database": after,
            "flood": flood_result,
            "others_during_flood": others,
            "loadavg": os.getloadavg(),
        }
        print("RESULT " + json.dumps(summary))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
