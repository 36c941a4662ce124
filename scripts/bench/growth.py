#!/usr/bin/env python3
"""The status change's latency as the database grows (SQLite).

One release `clearance serve`, then BENCH_STAGES (default 4) stages: each
fills 10,000 new sessions in review, lets the server settle, and drives
PATCH …/update-status/ on them for BENCH_DURATION seconds with
BENCH_CLIENTS (default 32) clients. Each stage adds about 60 MB of history
(audit trail, reviews), so the stages show how throughput and p99 move with
the database's size; see docs/reliability.md, "Session 8".

Usage: CLEARANCE_BIN=.build/release/clearance scripts/bench/growth.py
"""
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from sessions import SETTLE, free_port, start_server, wrk  # noqa: E402

STAGES = int(os.environ.get("BENCH_STAGES", "4"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "32"))


def main():
    work = tempfile.mkdtemp(prefix="clearance-growth-")
    database = os.path.join(work, "clearance.db")
    server, key, workflow = start_server([os.environ["CLEARANCE_BIN"]], work, port := free_port())
    threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
    try:
        for stage in range(STAGES):
            ids = os.path.join(work, f"ids-{stage}.txt")
            subprocess.run([sys.executable, os.path.join(HERE, "fill.py"), "--sqlite", database, "--workflow", workflow,
                            "--count", "10000", "--mix", "In Review=1", "--ids-out", ids], check=True, capture_output=True)
            time.sleep(SETTLE)
            result = wrk(f"http://127.0.0.1:{port}/", script=os.path.join(HERE, "patch-status.lua"), connections=CLIENTS,
                         env={"BENCH_IDS": ids, "BENCH_THREADS": "2", "BENCH_KEY": key})
            size = os.path.getsize(database) >> 20
            print(f"stage {stage}: {result['rps']:8.0f} changes/s  p50 {result['p50']:6.2f} ms  p99 {result['p99']:6.2f} ms  "
                  f"database {size} MB  non-2xx {result['non2xx']}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
