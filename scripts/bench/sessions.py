#!/usr/bin/env python3
"""Sessions API benchmark, one engine per run (see scripts/bench/run.sh).

Starts a release `clearance serve`, fills it, and measures with wrk:
  (a) GET /health                       requests/s: the server's ceiling
  (b) PATCH …/update-status/            requests/s, Approved/Declined on 10,000 sessions in review
  (c) GET /v3/sessions/?status=In Review&limit=50   p50/p99 at 10,000 and at 1,000,000 sessions
  (d) POST /v3/session/                 requests/s
and prints one table. (a) and (b) are measured in BENCH_ROUNDS rounds
(default 3); in each, for every client count of BENCH_SWEEP (default
32,64,128), (a) then at once (b) on 10,000 freshly filled sessions. A round's (a) is its best /health
figure (the ceiling), its (b) its best status-change figure; the round with
the median ratio is the one shown, and every figure is printed. Environment: CLEARANCE_BIN (release binary), BENCH_ENGINE
(sqlite|postgres), CLEARANCE_DATABASE_URL for postgres, BENCH_DURATION (s),
BENCH_LARGE (default 1000000), BENCH_KEEP (keep the data directory, about 2 GB;
removed by default).
"""
import os
import shutil
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
LARGE = int(os.environ.get("BENCH_LARGE", "1000000"))
LIST_MIX = "In Review=5,Approved=60,Declined=20,Not Started=10,Expired=5"
THREADS, CONNECTIONS = 2, 32
LATENCY_CONNECTIONS = 4
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
# Client counts for (a) and (b). Group commit shares one fsync among the
# changes waiting for it, so (b) grows with concurrent clients until the
# batches are full, where /health is flat from 32 (figures in
# docs/reliability.md, "Session 8"). Each is taken at its best; every figure,
# with (b)'s p99, is printed.
SWEEP = [int(c) for c in os.environ.get("BENCH_SWEEP", "32,64,128").split(",")]
SETTLE = 5


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wrk(url, key=None, script=None, connections=CONNECTIONS, threads=THREADS, env=None):
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{DURATION}s", "--latency", "--timeout", "10s"]
    if key:
        cmd += ["-H", f"x-api-key: {key}"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, env={**os.environ, **(env or {})}, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors:.*", out)
    return {"rps": rps, "p50": pct(50), "p99": pct(99), "non2xx": int(errors.group(1)) if errors else 0,
            "socket": socket_errors.group(0) if socket_errors else "", "clients": connections}


def start_server(command, work, port):
    """Starts `command serve` (a release binary, or a prefix such as taskset)
    on the data directory `work`: returns the process, its API key and the
    default workflow's id, which a fresh `serve` prints."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARANCE_") or k in ("CLEARANCE_DATABASE_URL",)}
    env.update(CLEARANCE_DATA_DIR=work, CLEARANCE_LISTEN=f"127.0.0.1:{port}", CLEARANCE_LOG_LEVEL="error",
               CLEARANCE_SWEEP_INTERVAL="3600")
    server = subprocess.Popen([*command, "serve"], env=env, stdout=subprocess.PIPE, text=True)
    key = workflow = None
    for line in server.stdout:
        line = line.strip()
        if line.startswith("clr_"):
            key = line
        elif "default KYC workflow" in line:
            workflow = line.split()[-1]
        elif "listening on" in line:
            break
    assert key and workflow, "server did not start"
    return server, key, workflow


def main():
    engine = os.environ.get("BENCH_ENGINE", "sqlite")
    work = tempfile.mkdtemp(prefix="clearance-bench-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server, key, workflow = start_server([os.environ["CLEARANCE_BIN"]], work, port)
    if engine == "sqlite":
        target = ["--sqlite", os.path.join(work, "clearance.db")]
    else:
        target = ["--postgres", os.environ["CLEARANCE_DATABASE_URL"]]

    def fill(count, mix, ids_out=None):
        started = time.time()
        cmd = [sys.executable, os.path.join(HERE, "fill.py"), *target, "--workflow", workflow, "--count", str(count), "--mix", mix]
        if ids_out:
            cmd += ["--ids-out", ids_out]
        subprocess.run(cmd, check=True)
        took = time.time() - started
        # The fill wrote straight into the server's files (a million rows in
        # about 30 s): let the server and the kernel's writeback settle before
        # measuring, or the first seconds measure the bulk load's aftermath.
        time.sleep(SETTLE)
        return took

    results = {}
    rounds = []
    try:
        list_url = f"{base}/v3/sessions/?status=In%20Review&limit=50"
        fill(10_000, LIST_MIX)
        results["c10k"] = wrk(list_url, key=key, connections=LATENCY_CONNECTIONS)
        # (a) and (b) side by side in time, ROUNDS times: on these shared VMs
        # the server's CPU per request drifts by up to 2x within minutes, so
        # a ceiling measured a minute before the status changes said more
        # about the minute than the server (single runs gave 29 % to 58 %).
        # Each round fills 10,000 fresh sessions in review (a session
        # already Approved would take the cheaper unchanged path), lets the
        # server settle (`fill`), then measures (a) and at once (b).
        for number in range(ROUNDS):
            measured = []
            for clients in SWEEP:
                ids = os.path.join(work, f"review-ids-{number}-{clients}.txt")
                fill(10_000, "In Review=1", ids)
                a = wrk(f"{base}/health", connections=clients)
                b = wrk(f"{base}/", key=None, script=os.path.join(HERE, "patch-status.lua"), connections=clients,
                        env={"BENCH_IDS": ids, "BENCH_THREADS": str(THREADS), "BENCH_KEY": key})
                measured.append((a, b))
            best_a = max((a for a, _ in measured), key=lambda r: r["rps"])
            best_b = max((b for _, b in measured), key=lambda r: r["rps"])
            rounds.append((best_a, best_b, measured))
        # The round with the median ratio stands for (a) and (b).
        a, b, _ = sorted(rounds, key=lambda r: r[1]["rps"] / r[0]["rps"])[len(rounds) // 2]
        results["a"], results["b"] = a, b
        filled = 10_000 * (1 + ROUNDS * len(SWEEP))
        fill_seconds = fill(max(LARGE - filled, 0), LIST_MIX)
        results["c1m"] = wrk(list_url, key=key, connections=LATENCY_CONNECTIONS)
        results["d"] = wrk(f"{base}/", script=os.path.join(HERE, "create-session.lua"),
                           env={"BENCH_KEY": key, "BENCH_WORKFLOW": workflow})
        with urllib.request.urlopen(f"{base}/health") as r:
            assert r.status == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
        # A run leaves about 2 GB (a million sessions and their WAL): keep it only when asked.
        if os.environ.get("BENCH_KEEP"):
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    a, b, c10, c1m, d = results["a"], results["b"], results["c10k"], results["c1m"], results["d"]
    print(f"\nClearance sessions benchmark, engine {engine}, {DURATION}s per stage, wrk -t{THREADS} "
          f"(-c{','.join(map(str, SWEEP))} for (a) and (b), -c{CONNECTIONS} for (d), -c{LATENCY_CONNECTIONS} latency), "
          f"filled {max(LARGE - filled, 0):,} rows in {fill_seconds:.0f}s")
    print(f"{'stage':58} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    rows = [
        (f"(a) GET /health (-c{a['clients']})", a),
        (f"(b) PATCH update-status, 10,000 in review (-c{b['clients']})", b),
        ("(c) GET /v3/sessions/?status=In Review, 10,000 sessions", c10),
        (f"(c) GET /v3/sessions/?status=In Review, {LARGE:,} sessions", c1m),
        (f"(d) POST /v3/session/ (table at {LARGE:,})", d),
    ]
    for name, r in rows:
        print(f"{name:58} {r['rps']:>10.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['non2xx']:>8} {r['socket']}")
    print(f"(b)/(a) = {b['rps'] / a['rps'] * 100:.0f} %   (target ≥ 40 %): the median of {ROUNDS} rounds, "
          "each round's best (b) over its best (a): "
          + ", ".join(f"{rb['rps']:.0f}/{ra['rps']:.0f} = {rb['rps'] / ra['rps'] * 100:.0f} %" for ra, rb, _ in rounds))
    for number, (_, _, measured) in enumerate(rounds, 1):
        print(f"  round {number}: " + ", ".join(
            f"-c{ma['clients']} (a) {ma['rps']:.0f} (b) {mb['rps']:.0f} = {mb['rps'] / ma['rps'] * 100:.0f} % (b p99 {mb['p99']:.1f} ms)"
            for ma, mb in measured))
    print(f"(c) p99 at {LARGE:,} = {c1m['p99']:.2f} ms (target < 20 ms); ratio to 10,000 = {c1m['p99'] / c10['p99']:.2f}× (target ≤ 1.5×)")


if __name__ == "__main__":
    main()
