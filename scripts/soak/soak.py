#!/usr/bin/env python3
"""Soak test (see scripts/soak/run.sh): mixed load on one `clearance serve`
over SQLite, watching the server's resident memory and open file descriptors.

Starts a release `clearance serve` on a fresh data folder with a webhook
destination pointing at a receiver on loopback, then runs SOAK_CLIENTS
clients (each with one keep-alive connection, paced to SOAK_RATE requests/s
in all) through a mix of:

  sessions: create (with contact and expected details), get, decision, list
            with filters (status, search, date_from/date_to, limit/offset),
            node results (PATCH …/features/{node_id}/update-status/), manual
            status changes (Approved ⇄ Declined, In Review), deliveries list
  KYC:      user, draft with data, PATCH, submit, then approve, reject or
            request an update (then a new draft, submitted again), profile
            and versions reads
  webhooks: every status and KYC event is delivered to the receiver

Each request's status is checked against what that call must answer; any
other answer (and any 5xx) is an error. VmRSS and the number of entries in
/proc/PID/fd are sampled every SOAK_SAMPLE seconds. After SOAK_WARMUP seconds
the baseline is taken; SOAK_SECONDS later the end. Prints the figures and
exits 1 when RSS at the end is above 1.2 × the baseline, the fd count grew,
or any error response was seen.

Environment: CLEARANCE_BIN (release binary), SOAK_SECONDS (600),
SOAK_WARMUP (60), SOAK_CLIENTS (8), SOAK_RATE (250), SOAK_SAMPLE (5).
"""
import http.client
import http.server
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter

SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
WARMUP = float(os.environ.get("SOAK_WARMUP", "60"))
CLIENTS = int(os.environ.get("SOAK_CLIENTS", "8"))
RATE = float(os.environ.get("SOAK_RATE", "250"))
SAMPLE = float(os.environ.get("SOAK_SAMPLE", "5"))
RSS_LIMIT = 1.2


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        self.lock = threading.Lock()
        self.by_type = Counter()
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class ReceiverHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        try:
            kind = json.loads(body).get("webhook_type", "?")
        except ValueError:
            kind = "unparsable"
        with self.server.lock:
            self.server.by_type[kind] += 1
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = Counter()
        self.errors = Counter()
        self.samples = []  # first few unexpected answers

    def record(self, kind, status, expected, body):
        with self.lock:
            self.requests[kind] += 1
            if status not in expected or status >= 500:
                self.errors[f"{kind} {status}"] += 1
                if len(self.samples) < 10:
                    self.samples.append(f"{kind}: {status} {str(body)[:300]}")


class Client:
    """One keep-alive connection; every call is recorded."""

    def __init__(self, port, key, stats):
        self.port, self.key, self.stats, self.conn = port, key, stats, None

    def call(self, kind, method, path, body=None, expected=(200,)):
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                data = None if body is None else json.dumps(body).encode()
                self.conn.request(method, path, body=data, headers={
                    "x-api-key": self.key, "content-type": "application/json"})
                response = self.conn.getresponse()
                raw = response.read()
                break
            except (OSError, http.client.HTTPException) as error:
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    self.stats.record(kind, 599, expected, f"connection: {error!r}")
                    return 599, None
        try:
            answer = json.loads(raw) if raw else None
        except ValueError:
            answer = raw[:200]
        self.stats.record(kind, response.status, expected, answer)
        return response.status, answer


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def tcp_sockets(pid):
    """Socket inode -> 'local port->remote port' (listening: remote 0)."""
    sockets = {}
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                next(f)
                for line in f:
                    fields = line.split()
                    local, remote, inode = fields[1], fields[2], fields[9]
                    sockets[inode] = f"tcp {int(local.split(':')[1], 16)}->{int(remote.split(':')[1], 16)}"
        except OSError:
            pass
    return sockets


def fd_targets(pid, ports):
    """What each open descriptor points at, counted; TCP sockets by peer."""
    targets = Counter()
    sockets = tcp_sockets(pid)
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:"):
            described = sockets.get(target[8:-1], "socket (not TCP)")
            for port, name in ports.items():
                described = described.replace(f"{port}->0", f"{name} (listening)").replace(f"->{port}", f" to {name}").replace(f"{port}->", f"{name} from ")
            target = described.split(" from ")[0] + (" from a client" if " from " in described else "")
            if target.startswith("tcp ") and " to " in target:
                target = "tcp" + target[target.index(" to "):]
        elif target.startswith(("pipe:", "anon_inode:")):
            target = target.split(":[")[0]
        targets[target] += 1
    return targets


class Load:
    """The mix one client runs. Each client owns the sessions and KYC users it
    made, so it always knows their state and asks only what must succeed."""

    def __init__(self, client, workflow, index):
        self.c, self.workflow, self.index = client, workflow, index
        self.fresh = []        # sessions Not Started / In Progress, with nodes left to report
        self.decided = {}      # session id -> Approved / Declined / In Review
        self.nodes = {}        # session id -> node ids not yet reported
        self.counter = 0
        self.kyc_users = []

    def name(self):
        self.counter += 1
        return f"soak-{self.index}-{self.counter}-{uuid.uuid4().hex[:8]}"

    def create_session(self):
        vendor = self.name()
        status, answer = self.c.call("session create", "POST", "/v3/session/", {
            "workflow_id": self.workflow, "vendor_data": vendor, "metadata": {"soak": True, "n": self.counter},
            "contact_details": {"email": f"{vendor}@example.com", "email_lang": "en"},
            "expected_details": {"first_name": "Ada", "last_name": f"Soak{self.counter}", "date_of_birth": "1990-12-10",
                                 "nationality": "GBR", "id_country": "GBR"},
        }, expected=(201,))
        if status == 201:
            self.fresh.append(answer["session_id"])

    def report_node(self):
        if not self.fresh:
            return self.create_session()
        session = self.fresh[0]
        if session not in self.nodes:
            self.nodes[session] = list(self.workflow_nodes)
        node = self.nodes[session].pop(0)
        outcome = random.choice(["Approved", "Approved", "Approved", "In Review", "Declined"])
        status, answer = self.c.call("node result", "PATCH", f"/v3/session/{session}/features/{node}/update-status/", {
            "new_status": outcome, "comment": "soak", "data": {"score": random.randint(0, 100)},
        })
        if not self.nodes[session]:
            self.fresh.pop(0)
            del self.nodes[session]
            if status == 200:
                self.decided[session] = answer["status"]

    def change_status(self):
        candidates = [s for s, st in self.decided.items() if st in ("Approved", "Declined", "In Review")]
        if not candidates:
            return self.report_node()
        session = random.choice(candidates)
        current = self.decided[session]
        target = {"Approved": "Declined", "Declined": "Approved", "In Review": random.choice(["Approved", "Declined"])}[current]
        if random.random() < 0.2:
            target = "In Review" if current != "In Review" else "Approved"
        status, answer = self.c.call("update-status", "PATCH", f"/v3/session/{session}/update-status/",
                                     {"new_status": target, "comment": f"soak {self.counter}"})
        if status == 200:
            self.decided[session] = answer["status"]
        if len(self.decided) > 200:
            self.decided.pop(next(iter(self.decided)))

    def read_session(self):
        pool = list(self.decided) or self.fresh
        if not pool:
            return self.create_session()
        session = random.choice(pool)
        if random.random() < 0.5:
            self.c.call("session get", "GET", f"/v3/session/{session}/")
        else:
            self.c.call("session decision", "GET", f"/v3/session/{session}/decision/")

    def list_sessions(self):
        today = time.strftime("%Y-%m-%d", time.gmtime())
        query = random.choice([
            "?limit=20", "?status=Approved&limit=50", "?status=In%20Review", "?status=DECLINED&offset=20",
            f"?date_from={today}&date_to={today}", "?search=Ada", f"?search=soak-{self.index}", "?session_kind=all&limit=100",
            f"?workflow_id={self.workflow}&country=GBR",
        ])
        self.c.call("session list", "GET", f"/v3/sessions/{query}")

    def kyc(self):
        if self.kyc_users and random.random() < 0.3:
            user, _ = random.choice(self.kyc_users)
            if random.random() < 0.5:
                self.c.call("kyc profile", "GET", f"/api/v2/kyc-profiles/{user}")
            else:
                self.c.call("kyc versions", "GET", f"/api/v2/kyc-profiles/{user}/versions?limit=10&orderDirection=desc")
            return
        n = self.name()
        status, answer = self.c.call("kyc user", "POST", "/api/v2/users", {
            "email": f"{n}@example.com", "firstName": "Ada", "lastName": "Soak", "externalId": n}, expected=(201,))
        if status != 201:
            return
        user = answer["data"]["id"]
        data = {"firstName": "Ada", "lastName": "Soak", "dob": "1990-12-10", "country": "GB",
                "residencyStatus": "resident", "nationalId": n[:50]}
        for round_ in range(2):
            status, answer = self.c.call("kyc draft", "POST", f"/api/v2/kyc-profiles/{user}/versions",
                                         {"initialData": data} if round_ == 0 else {}, expected=(201,))
            if status != 201:
                return
            version = answer["data"]["id"]
            self.c.call("kyc patch", "PATCH", f"/api/v2/kyc-profile-versions/{version}", {"lastName": f"Soak{self.counter}"})
            self.c.call("kyc submit", "POST", f"/api/v2/kyc-profile-versions/{version}/submissions")
            choice = random.random()
            if round_ == 0 and choice < 0.3:
                self.c.call("kyc update-request", "POST", f"/api/v2/kyc-profile-versions/{version}/update-requests",
                            {"reason": "Please check the last name again.", "requiredFields": ["lastName"]})
                continue  # a new draft from this version's data, submitted again
            if choice < 0.8:
                self.c.call("kyc approve", "POST", f"/api/v2/kyc-profile-versions/{version}/approvals", {"reviewNotes": "soak"})
            else:
                self.c.call("kyc reject", "POST", f"/api/v2/kyc-profile-versions/{version}/rejections",
                            {"rejectionReason": "The document could not be read."})
            break
        self.kyc_users.append((user, version))
        if len(self.kyc_users) > 100:
            self.kyc_users.pop(0)

    def deliveries(self):
        self.c.call("webhook deliveries", "GET", f"/v3/webhook/destinations/{self.destination}/deliveries/?limit=20")

    def health(self):
        self.c.call("health", "GET", "/health")

    MIX = [("create_session", 14), ("report_node", 22), ("change_status", 14), ("read_session", 18),
           ("list_sessions", 10), ("kyc", 12), ("deliveries", 4), ("health", 6)]

    def step(self):
        actions, weights = zip(*self.MIX)
        getattr(self, random.choices(actions, weights)[0])()


def main():
    bin_ = os.environ["CLEARANCE_BIN"]
    work = tempfile.mkdtemp(prefix="clearance-soak-")
    port = free_port()
    receiver = Receiver()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARANCE_")}
    env.update(CLEARANCE_DATA_DIR=work, CLEARANCE_LISTEN=f"127.0.0.1:{port}", CLEARANCE_LOG_LEVEL="error",
               CLEARANCE_ALLOW_PRIVATE_WEBHOOK_TARGETS="1")
    server = subprocess.Popen([bin_, "serve"], env=env, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        ok = run(server, port, receiver, work)
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    # A passing run's data folder goes; a failing one's stays for the
    # post-mortem, as it does when SOAK_KEEP is set.
    if ok and not os.environ.get("SOAK_KEEP"):
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"soak: data kept in {work}")
    sys.exit(0 if ok else 1)


def run(server, port, receiver, work):
    key = workflow = None
    for line in server.stdout:
        line = line.strip()
        if line.startswith("clr_"):
            key = line
        elif "default KYC workflow" in line:
            workflow = line.split()[-1]
        elif "listening on" in line:
            break
    if not (key and workflow):
        sys.exit("soak: the server did not start")
    threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
    stats = Stats()
    setup = Client(port, key, stats)
    status, destination = setup.call("setup", "POST", "/v3/webhook/destinations/", {
        "url": receiver.url, "subscribed_events": ["status.updated", "data.updated", "kyc.version.submitted",
                                                    "kyc.version.approved", "kyc.version.rejected",
                                                    "kyc.version.changes_requested"]}, expected=(201,))
    assert status == 201, destination
    status, flow = setup.call("setup", "GET", f"/v3/workflows/{workflow}/")
    assert status == 200, flow
    workflow_nodes = [node["node_id"] for node in flow["nodes"]]
    print(f"soak: pid {server.pid}, data in {work} (removed if it passes); workflow nodes {', '.join(workflow_nodes)}; "
          f"{CLIENTS} clients at {RATE:.0f} requests/s in all; warm-up {WARMUP:.0f} s, then {SECONDS:.0f} s", flush=True)

    stop = threading.Event()
    running = threading.Event()  # cleared to pause the clients for a quiet sample
    running.set()
    idle = threading.Semaphore(0)
    interval = CLIENTS / RATE

    def drive(index):
        load = Load(Client(port, key, stats), workflow, index)
        load.workflow_nodes = workflow_nodes
        load.destination = destination["uuid"]
        next_at = time.monotonic()
        while not stop.is_set():
            if not running.is_set():
                idle.release()
                running.wait()
                next_at = time.monotonic()
            try:
                load.step()
            except Exception as error:  # an answer of an unexpected shape
                stats.record("driver", 0, (), repr(error))
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_at = time.monotonic()  # behind: do not burst to catch up

    threads = [threading.Thread(target=drive, args=(i,), daemon=True) for i in range(CLIENTS)]
    started = time.monotonic()
    for t in threads:
        t.start()

    pid = server.pid
    samples = []  # (seconds since start, rss KiB, fds)

    def sample():
        samples.append((time.monotonic() - started, rss_kib(pid), fd_count(pid)))

    quiet_targets = []

    def quiet_sample():
        """The clients paused (their connections stay open), the server idle
        for a few seconds: RSS and fds without requests in flight."""
        running.clear()
        for _ in threads:
            idle.acquire(timeout=60)
        time.sleep(3)
        figures = (time.monotonic() - started, rss_kib(pid), fd_count(pid))
        quiet_targets.append(fd_targets(pid, {port: 'the API port', receiver.server_address[1]: 'the webhook receiver'}))
        running.set()
        return figures

    while time.monotonic() - started < WARMUP:
        time.sleep(SAMPLE)
        sample()
    base_at, base_rss, base_fds = quiet_sample()
    base_requests = sum(stats.requests.values())
    print(f"soak: after warm-up ({base_at:.0f} s, clients paused 3 s): RSS {base_rss / 1024:.1f} MiB, fds {base_fds}, "
          f"{base_requests} requests so far", flush=True)
    last_report = time.monotonic()
    while time.monotonic() - started < WARMUP + SECONDS:
        time.sleep(SAMPLE)
        if server.poll() is not None:
            print(f"soak: the server exited with {server.returncode}")
            break
        sample()
        if time.monotonic() - last_report >= 60:
            last_report = time.monotonic()
            at, rss, fds = samples[-1]
            print(f"soak: {at:.0f} s: RSS {rss / 1024:.1f} MiB, fds {fds}, {sum(stats.requests.values())} requests, "
                  f"{sum(stats.errors.values())} errors", flush=True)
    end_at, end_rss, end_fds = quiet_sample()
    stop.set()
    for t in threads:
        t.join(timeout=70)
    load_seconds = end_at - base_at
    soak_samples = [s for s in samples if s[0] >= base_at]
    max_rss = max(s[1] for s in soak_samples)
    max_fds = max(s[2] for s in soak_samples)
    # The receiver should hold every event by now; give the worker a moment.
    time.sleep(3)
    with receiver.lock:
        delivered = dict(receiver.by_type)
    alive = server.poll() is None

    total = sum(stats.requests.values())
    errors = sum(stats.errors.values())
    ratio = end_rss / base_rss
    print()
    print(f"soak: SQLite, {len(threads)} clients, {load_seconds:.0f} s measured after a {base_at:.0f} s warm-up, "
          f"{total} requests ({(total - base_requests) / load_seconds:.0f}/s after warm-up)")
    print(f"soak: RSS after warm-up {base_rss / 1024:.1f} MiB, at end {end_rss / 1024:.1f} MiB, "
          f"ratio {ratio:.3f} (limit {RSS_LIMIT}), max under load {max_rss / 1024:.1f} MiB")
    print(f"soak: fds after warm-up {base_fds}, at end {end_fds}, max under load {max_fds}")
    print("soak: requests by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.requests.items())))
    print("soak: webhooks received: " + (", ".join(f"{k} {v}" for k, v in sorted(delivered.items())) or "none"))
    print(f"soak: error responses {errors}" + (": " + ", ".join(f"{k} ×{v}" for k, v in sorted(stats.errors.items())) if errors else ""))
    for line in stats.samples:
        print(f"soak:   {line}")
    if end_fds != base_fds:
        grown = quiet_targets[-1] - quiet_targets[0]
        shrunk = quiet_targets[0] - quiet_targets[-1]
        print(f"soak: descriptors more at the end: {dict(grown)}; fewer: {dict(shrunk)}")
    rss_series = " ".join(f"{s[1] // 1024}" for s in soak_samples[:: max(1, len(soak_samples) // 20)])
    print(f"soak: RSS MiB over the run (every {max(1, len(soak_samples) // 20) * SAMPLE:.0f} s): {rss_series}")
    ok = alive and ratio <= RSS_LIMIT and end_fds <= base_fds and errors == 0 and sum(delivered.values()) > 0
    if not alive:
        print("soak: the server is no longer running")
    print("soak: PASS" if ok else "soak: FAIL")
    return ok


if __name__ == "__main__":
    main()
