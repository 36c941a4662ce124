#!/usr/bin/env python3
"""Webhook delivery benchmark, one engine per run (see scripts/bench/webhooks.sh).

(e) deliveries/s: `serve --no-workers` queues WEBHOOK_BACKLOG deliveries
    (status changes through the API), stops; then `clearance worker` alone
    drains the backlog to a local receiver that answers 200 at once. Rate =
    backlog / (last arrival - worker ready).
(f) commit -> receipt: `serve` with its worker; status changes at a steady
    WEBHOOK_RATE per second for WEBHOOK_SECONDS; for each change, the time
    from the API's answer (just after COMMIT) to the receiver's arrival.
    p50 / p99 / max.
Environment: CLEARANCE_BIN (release), BENCH_ENGINE (sqlite|postgres),
CLEARANCE_DATABASE_URL for postgres.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BACKLOG = int(os.environ.get("WEBHOOK_BACKLOG", "20000"))
RATE = int(os.environ.get("WEBHOOK_RATE", "200"))
SECONDS = int(os.environ.get("WEBHOOK_SECONDS", "10"))
SESSIONS = 1000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    def __init__(self, port, key):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.key = key

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        self.conn.request(method, path, body=data, headers={"x-api-key": self.key, "content-type": "application/json"})
        response = self.conn.getresponse()
        raw = response.read()
        return response.status, (json.loads(raw) if raw else None)


def environment(work, port):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARANCE_") or k == "CLEARANCE_DATABASE_URL"}
    env.update(CLEARANCE_DATA_DIR=work, CLEARANCE_LISTEN=f"127.0.0.1:{port}", CLEARANCE_LOG_LEVEL="error",
               CLEARANCE_ALLOW_PRIVATE_WEBHOOK_TARGETS="1", CLEARANCE_SWEEP_INTERVAL="3600")
    return env


def start(args, env, ready):
    process = subprocess.Popen([os.environ["CLEARANCE_BIN"], *args], env=env, stdout=subprocess.PIPE, text=True)
    lines = []
    for line in process.stdout:
        lines.append(line.strip())
        if ready in line:
            break
    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
    return process, lines


def stop(process):
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


class Receiver:
    def __init__(self):
        self.port = free_port()
        self.out = tempfile.mktemp(prefix="clearance-receiver-")
        self.process = subprocess.Popen([sys.executable, os.path.join(HERE, "receiver.py"), str(self.port), self.out],
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == "ready"

    def finish(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        with open(self.out) as f:
            return [json.loads(line) for line in f]


def setup(port, admin, receiver, workflow):
    client = Client(port, admin)
    status, made = client.call("POST", "/v3/api-keys/", {"name": "bench", "environment": "sandbox",
                                                          "privileges": ["read:sessions", "write:sessions", "read:webhooks", "write:webhooks"]})
    assert status == 201, made
    key = made["key"]
    client = Client(port, key)
    status, destination = client.call("POST", "/v3/webhook/destinations/",
                                      {"url": f"http://127.0.0.1:{receiver.port}/hook", "subscribed_events": ["status.updated"]})
    assert status == 201, destination
    sessions = []
    for _ in range(SESSIONS):
        status, session = client.call("POST", "/v3/session/", {"workflow_id": workflow, "sandbox_scenario": "review_aml_possible_match"})
        assert status == 201, session
        sessions.append(session["session_id"])
    return key, sessions


def drive(port, key, sessions, count, threads=8, rate=None, acks=None):
    """`count` PATCHes alternating Approved/Declined; each thread owns a slice
    of the sessions, so one session's changes are sequential."""
    per_thread = count // threads
    lock = threading.Lock()

    def work(slice_):
        client = Client(port, key)
        state = {s: "In Review" for s in slice_}
        interval = threads / rate if rate else 0
        next_at = time.time()
        for i in range(per_thread):
            session = slice_[i % len(slice_)]
            target = "Declined" if state[session] == "Approved" else "Approved"
            if interval:
                next_at += interval
                delay = next_at - time.time()
                if delay > 0:
                    time.sleep(delay)
            status, _ = client.call("PATCH", f"/v3/session/{session}/update-status/", {"new_status": target})
            assert status == 200
            state[session] = target
            if acks is not None:
                with lock:
                    acks.setdefault(session, []).append(time.time())

    slices = [sessions[i::threads] for i in range(threads)]
    workers = [threading.Thread(target=work, args=(s,)) for s in slices]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return per_thread * threads


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def main():
    engine = os.environ.get("BENCH_ENGINE", "sqlite")
    work = tempfile.mkdtemp(prefix="clearance-bench-webhooks-")
    port = free_port()
    env = environment(work, port)

    # (e) throughput: queue a backlog with no worker running, then drain it.
    receiver = Receiver()
    server, lines = start(["serve", "--no-workers"], env, "listening on")
    admin = next(line for line in lines if line.startswith("clr_"))
    workflow = next(line.split()[-1] for line in lines if "default KYC workflow" in line)
    key, sessions = setup(port, admin, receiver, workflow)
    queued_setup = 2 * SESSIONS  # each session's moves to In Progress and In Review
    changes = drive(port, key, sessions, max(0, BACKLOG - queued_setup))
    backlog = queued_setup + changes
    stop(server)
    worker, _ = start(["worker"], env, "worker running")
    ready = time.time()
    # Drained when the receiver has been idle for a while (it counts in its
    # own process; its figures are read when it stops).
    deadline = ready + 300
    time.sleep(1)
    while time.time() < deadline and worker.poll() is None and not _quiet(receiver):
        pass
    stop(worker)
    arrivals = receiver.finish()
    times = sorted(a[0] for a in arrivals)
    drained = len(arrivals)
    rate = drained / (times[-1] - ready) if times else 0

    # (f) latency: serve with its worker, a steady rate of changes.
    receiver = Receiver()
    work2 = tempfile.mkdtemp(prefix="clearance-bench-webhooks-")
    env2 = environment(work2, port)
    if engine == "postgres":
        env2["CLEARANCE_DATABASE_URL"] = os.environ["CLEARANCE_DATABASE_URL_2"]
    server, lines = start(["serve"], env2, "listening on")
    admin = next(line for line in lines if line.startswith("clr_"))
    workflow = next(line.split()[-1] for line in lines if "default KYC workflow" in line)
    key, sessions = setup(port, admin, receiver, workflow)
    time.sleep(2)
    acks = {}
    drive(port, key, sessions, RATE * SECONDS, threads=8, rate=RATE, acks=acks)
    time.sleep(2)
    stop(server)
    arrivals = receiver.finish()
    by_session = {}
    for at, session, sequence, _ in arrivals:
        by_session.setdefault(session, []).append((sequence, at))
    latencies = []
    for session, acked in acks.items():
        received = [at for _, at in sorted(by_session.get(session, []))][2:]  # skip the two setup moves
        for ack, at in zip(acked, received):
            latencies.append((at - ack) * 1000)
    lost = sum(len(v) for v in acks.values()) - len(latencies)

    print(f"\n{engine}: webhook delivery to a local receiver answering 200")
    print(f"| measure | value |")
    print(f"|---|---|")
    print(f"| (e) backlog drained by `clearance worker` | {drained:,} of {backlog:,} |")
    print(f"| (e) deliveries/s | {rate:,.0f} |")
    print(f"| (f) changes at {RATE}/s for {SECONDS} s: commit -> receipt p50 | {percentile(latencies, 50):.1f} ms |")
    print(f"| (f) p99 / max | {percentile(latencies, 99):.1f} / {max(latencies):.1f} ms |")
    print(f"| (f) changes without a matching delivery | {lost} |")
    for directory in (work, work2):
        shutil.rmtree(directory, ignore_errors=True)


def _quiet(receiver, window=1.5):
    """True when the receiver's process has used no CPU for `window` seconds."""
    def cpu():
        with open(f"/proc/{receiver.process.pid}/stat") as f:
            fields = f.read().split()
        return int(fields[13]) + int(fields[14])
    before = cpu()
    time.sleep(window)
    return cpu() == before


if __name__ == "__main__":
    main()
