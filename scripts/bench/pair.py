#!/usr/bin/env python3
"""Side-by-side A/B of two release binaries on the status-change stage (b).

On a shared VM a single run cannot tell a 5 % change from the machine's
drift (server CPU per request moved by a factor of two between runs an hour
apart). This starts both servers at once, fills each with 10,000 sessions
in review, then drives both at the same moment with their own
`wrk -t1 -c16` for `/health` and for the PATCH stage, so both see the same
noise; the first server is started first in even rounds, second in odd.
With 6 s stages an A/A run of four rounds gave B/A from 0.97 to 1.00; use
several rounds. Prints B/A per round and the median.

Usage: scripts/bench/pair.py ROUNDS A B   (BENCH_DURATION seconds per stage, default 6)
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from sessions import free_port, start_server  # noqa: E402

DURATION = os.environ.get("BENCH_DURATION", "6")
# BENCH_TURNS=1: drive the two servers in turns (each alone on the machine,
# wrk -t2 -c32 as sessions.py does) instead of at once. Needed when A and B
# differ in how many threads they keep busy: at once, the scheduler shares
# the cores per thread, and the one with more threads wins CPU, not speed.
TURNS = os.environ.get("BENCH_TURNS") == "1"


def start(binary):
    work = tempfile.mkdtemp(prefix="clearance-pair-")
    port = free_port()
    server, key, workflow = start_server([binary], work, port)
    threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
    ids = os.path.join(work, "ids.txt")
    subprocess.run([sys.executable, os.path.join(HERE, "fill.py"), "--sqlite", os.path.join(work, "clearance.db"),
                    "--workflow", workflow, "--count", "10000", "--mix", "In Review=1", "--ids-out", ids],
                   check=True, capture_output=True)
    return {"server": server, "work": work, "port": port, "key": key, "ids": ids}


def drive(target, stage, out, threads=1, connections=16):
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{DURATION}s"]
    env = dict(os.environ)
    if stage == "patch":
        cmd += ["-s", os.path.join(HERE, "patch-status.lua"), f"http://127.0.0.1:{target['port']}/"]
        env.update(BENCH_IDS=target["ids"], BENCH_THREADS=str(threads), BENCH_KEY=target["key"])
    else:
        cmd += [f"http://127.0.0.1:{target['port']}/health"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    assert "Non-2xx" not in result, result
    out.append(float(re.search(r"Requests/sec:\s+([\d.]+)", result).group(1)))


def main():
    rounds, first, second = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    ratios = []
    for number in range(rounds):
        # Started one after the other, A first in even rounds (keyed by
        # position: A and B may be the same binary).
        if number % 2 == 0:
            a = start(first)
            b = start(second)
        else:
            b = start(second)
            a = start(first)
        # Let both settle (the fill wrote straight into their files): without
        # this the server started first ran up to 10 % faster in A/A runs.
        time.sleep(5)
        try:
            for stage in ("health", "patch"):
                results = {"a": [], "b": []}
                if TURNS:
                    # One at a time, as sessions.py drives one server.
                    order = [(a, "a"), (b, "b")] if number % 2 == 0 else [(b, "b"), (a, "a")]
                    for target, name in order:
                        drive(target, stage, results[name], threads=2, connections=32)
                else:
                    threads = [threading.Thread(target=drive, args=(a, stage, results["a"])),
                               threading.Thread(target=drive, args=(b, stage, results["b"]))]
                    for thread in threads:
                        thread.start()
                    for thread in threads:
                        thread.join()
                ratio = results["b"][0] / results["a"][0]
                print(f"round {number} {stage:6}: A {results['a'][0]:8.0f}  B {results['b'][0]:8.0f}  B/A {ratio:.3f}", flush=True)
                if stage == "patch":
                    ratios.append(ratio)
        finally:
            for target in (a, b):
                target["server"].terminate()
                target["server"].wait()
                shutil.rmtree(target["work"], ignore_errors=True)
    print(f"median B/A (PATCH req/s) over {rounds} rounds: {statistics.median(ratios):.3f}  {[round(r, 3) for r in ratios]}")


if __name__ == "__main__":
    main()
