#!/usr/bin/env python3
"""Three `clearance serve` processes on one PostgreSQL (scripts/chaos/multiprocess.sh).

Two phases, each on a fresh database of the same throwaway cluster:

  1. three processes, started at the same moment on a freshly migrated
     database (the same data key, sweeps every 0.5 s, webhooks to a loopback
     receiver), and a load spread round-robin over them: sessions hammered
     with conflicting status changes, node results (conflicting ones
     included), sessions that expire or whose document expires while the
     load runs (three sweepers compete for them), and KYC profiles with
     concurrent conflicting reviewer actions and update requests that fall
     due during the run;
  2. the same, and `kill -9` of one process mid-load; it is restarted 3 s
     later on the same port and database. Requests it leaves unanswered
     count as unacknowledged and are not retried; clients skip it for a
     second and use the other two.

After each phase, once everything due within two minutes has come due and
every delivery and email settled, it reads the database in one REPEATABLE
READ snapshot (and fails if anything commits after it) and checks:

  * `clearance audit verify` passes (the global hash chain);
  * every session's history (session_reviews, and the audit entries) is a
    chain of allowed transitions, each from the previous end state, ending in
    the stored status; the sweep's own moves are only the expiry moves and
    nobody else makes them; every KYC version's history (audit) likewise;
  * every committed event (webhook_events) was delivered: the receiver has
    it, its delivery row is `delivered`, nothing arrived that did not
    commit, every signature verifies, per subject the event sequences run
    1, 2, 3, … and the status events repeat the committed history;
  * no event was ever in flight twice at once at the receiver (each request
    is held open 0–20 ms, so an overlap would show);
  * every expiring subject was swept exactly once or left the expirable
    state before its time (sessions: Expired / Abandoned / Kyc Expired;
    KYC action requests: expired), nothing is still due, and each sweep has
    one audit entry and one delivered event;
  * of concurrent approve / reject / request-update on one KYC version,
    exactly one decision committed, and at most the committed one was
    answered 2xx;
  * every queued email was written once (.eml files of the three processes);
  * every acknowledged change is committed (its audit entry carries the
    request's x-request-id), no answer was a 5xx or an unexpected code, and
    no process logged an error.

Sessions cannot be created with an expiry of seconds (session_ttl_hours is
a whole number of hours), so the expiring sessions are created through the
API and their `expires_at` is then moved a few seconds ahead with one SQL
UPDATE (psql): the only write this script makes behind the API's back.

Environment: CLEARANCE_BIN, CLEARANCE_PG_BINDIR, CLEARANCE_TEST_POSTGRES_URL
(the cluster's admin URL), CHAOS_SCALE (default 1: about 4,300 requests
per phase), CHAOS_CLIENTS (default 24), CHAOS_PHASES (default "1,2").
Prints the counts; exits 1 when a check fails.
"""
import base64
import hashlib
import hmac
import http.client
import http.server
import json
import os
import queue
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone

SCALE = float(os.environ.get("CHAOS_SCALE", "1"))
CLIENTS = int(os.environ.get("CHAOS_CLIENTS", "24"))
PHASES = [int(p) for p in os.environ.get("CHAOS_PHASES", "1,2").split(",")]
PROCESSES = 3
NODES = ["feature_ocr", "feature_liveness", "feature_face_match", "feature_aml", "feature_ip_analysis"]
EVENTS = ["status.updated", "data.updated", "kyc.version.submitted", "kyc.version.approved", "kyc.version.rejected",
          "kyc.version.changes_requested", "kyc.action_request.expired"]

# The session status machine (docs/sessions.md, SessionStateMachine.swift).
MANUAL_SOURCES = {"Approved", "Declined", "In Review", "Kyc Expired", "Abandoned", "Resubmitted"}
MANUAL_TARGETS = {"Approved", "Declined", "Resubmitted", "In Review"}
SWEEP_MOVES = {("Not Started", "Expired"), ("In Progress", "Abandoned"), ("Resubmitted", "Abandoned"),
               ("Approved", "Kyc Expired")}
AUTOMATIC_MOVES = {("Not Started", "In Progress"), ("Resubmitted", "In Progress"), ("In Progress", "Approved"),
                   ("In Progress", "Declined"), ("In Progress", "In Review")}
EXPIRABLE = {"Not Started", "In Progress", "Resubmitted"}
# KYC versions (docs/kyc.md): (before, after) of the audit entries.
KYC_MOVES = {("draft", "under_review"), ("under_review", "approved"), ("under_review", "rejected"),
             ("under_review", "under_review"), ("under_review", "superseded"), ("approved", "superseded")}


def n(count):
    return max(1, int(count * SCALE))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def iso(at):
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def log(text):
    print(f"multiproc: {text}", flush=True)


# MARK: PostgreSQL

def psql(url, sql):
    out = subprocess.run([os.path.join(os.environ["CLEARANCE_PG_BINDIR"], "psql"), url, "-Atq", "-v", "ON_ERROR_STOP=1"],
                         input=sql, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"psql failed: {out.stderr.strip()}")
    return out.stdout


def rows(url, query):
    return json.loads(psql(url, f"SELECT coalesce(json_agg(t), '[]') FROM ({query}) t;") or "[]")


def snapshot(url, queries):
    """Several queries' rows from one REPEATABLE READ transaction: one
    consistent state of the database."""
    sql = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n"
    for query in queries:
        sql += f"SELECT coalesce(jsonb_agg(t), '[]') FROM ({query}) t;\n"  # jsonb: one line each
    out = psql(url, sql + "COMMIT;\n").splitlines()
    assert len(out) == len(queries), out[:3]
    return [json.loads(line) for line in out]


# MARK: The receiver

class Receiver(http.server.ThreadingHTTPServer):
    """Records every delivery: arrival and completion times, event id, raw
    body and headers; holds each request 0–20 ms and notes when the same
    event was already in flight."""
    daemon_threads = True
    request_queue_size = 256

    def __init__(self):
        self.lock = threading.Lock()
        self.deliveries = []  # dict(arrived, done, event_id, body, signature)
        self.in_flight = {}  # event_id -> count
        self.overlaps = []  # event ids seen while already in flight
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def handle_error(self, request, client_address):
        pass  # a sender killed mid-request resets its connection: expected in phase 2

    def unique_events(self):
        with self.lock:
            return {d["event_id"] for d in self.deliveries}


def socket_owner(local_port, remote_port):
    """The label of the server process that owns the TCP connection from
    127.0.0.1:local_port to 127.0.0.1:remote_port (through /proc), or "?"."""
    inode = None
    for _ in range(5):  # /proc/net/tcp is built page by page and can miss a row while connections churn
        try:
            with open("/proc/net/tcp") as f:
                for line in f.readlines()[1:]:
                    fields = line.split()
                    if int(fields[1].split(":")[1], 16) == local_port and int(fields[2].split(":")[1], 16) == remote_port:
                        inode = fields[9]
                        break
        except OSError:
            pass
        if inode is not None:
            break
        time.sleep(0.002)
    if inode is None:
        return "?"
    target = f"socket:[{inode}]"
    for pid, label in list(Server.labels.items()):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return label
        except OSError:
            continue
    return "?"


class ReceiverHandler(http.server.BaseHTTPRequestHandler):
    """One per connection: notes which server process sends on it."""
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.sender = socket_owner(self.client_address[1], self.server.server_address[1])

    def do_POST(self):
        arrived = time.time()
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        try:
            event_id = json.loads(body)["event_id"]
        except (ValueError, KeyError):
            event_id = None
        server = self.server
        with server.lock:
            if server.in_flight.get(event_id, 0) > 0:
                server.overlaps.append(event_id)
            server.in_flight[event_id] = server.in_flight.get(event_id, 0) + 1
        try:
            time.sleep(random.uniform(0, 0.020))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()
            self.wfile.flush()
        finally:
            # Also when the sender died mid-request (phase 2): it is then no
            # longer in flight, and it did arrive.
            done = time.time()
            with server.lock:
                server.in_flight[event_id] -= 1
                server.deliveries.append(dict(arrived=arrived, done=done, event_id=event_id, body=body,
                                              signature=self.headers.get("x-signature", ""), sender=self.sender))

    def log_message(self, *args):
        pass


# MARK: Server processes

class Server:
    started = []
    labels = {}  # pid -> "p<index>" (or "p<index>'" after a restart)

    def __init__(self, index, database_url, data_key, work_dir):
        self.index = index
        self.port = free_port()
        self.database_url, self.data_key = database_url, data_key
        self.data_dir = os.path.join(work_dir, f"p{index}")
        self.log_path = os.path.join(work_dir, f"p{index}.log")
        self.process = None
        self.admin_key = None
        self.workflow = None
        self.kills = 0

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARANCE_")}
        env.update(CLEARANCE_DATABASE_URL=self.database_url, CLEARANCE_DATA_KEY=self.data_key,
                   CLEARANCE_DATA_DIR=self.data_dir, CLEARANCE_LISTEN=f"127.0.0.1:{self.port}",
                   CLEARANCE_LOG_LEVEL="error", CLEARANCE_ALLOW_PRIVATE_WEBHOOK_TARGETS="1",
                   CLEARANCE_WEBHOOK_RETRY_SCALE="0.01", CLEARANCE_SWEEP_INTERVAL="0.5")
        return env

    def spawn(self):
        self.log_file = open(self.log_path, "a")
        self.process = subprocess.Popen([os.environ["CLEARANCE_BIN"], "serve"], env=self.env(), stdout=subprocess.PIPE,
                                        stderr=self.log_file, text=True)
        Server.started.append(self.process)
        Server.labels[self.process.pid] = f"p{self.index}" + "'" * self.kills

    def wait_ready(self):
        for line in self.process.stdout:
            line = line.strip()
            if line.startswith("clr_"):
                self.admin_key = line
            elif "default KYC workflow" in line:
                self.workflow = line.split()[-1]
            elif "listening on" in line:
                break
        else:
            raise RuntimeError(f"process {self.index} exited before listening (see {self.log_path})")
        threading.Thread(target=lambda: [None for _ in self.process.stdout], daemon=True).start()

    def kill9(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.kills += 1

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def errors(self):
        """One entry per logged message (a message may span lines)."""
        with open(self.log_path) as f:
            return [line.rstrip() for line in f if re.match(r"^\d{4}-\d\d-\d\dT", line)]


# MARK: Clients

class Cluster:
    """Round-robin over the processes; a process that failed to answer is
    skipped for a second (its clients go to the others meanwhile)."""

    def __init__(self, servers, key, phase):
        self.servers, self.key, self.phase = servers, key, phase
        self.lock = threading.Lock()
        self.turn = 0
        self.down_until = [0.0] * len(servers)
        self.request_ids = 0

    def pick(self, avoid=None):
        with self.lock:
            now = time.time()
            for _ in range(len(self.servers)):
                self.turn = (self.turn + 1) % len(self.servers)
                if self.down_until[self.turn] <= now and self.turn != avoid:
                    return self.turn
            return (self.turn + 1) % len(self.servers)

    def mark_down(self, index):
        with self.lock:
            self.down_until[index] = time.time() + 1.0

    def request_id(self):
        with self.lock:
            self.request_ids += 1
            return f"mp{self.phase}-{self.request_ids}"


class Client:
    """One thread's keep-alive connections, one per process."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.conns = {}

    def call(self, method, path, body=None, process=None):
        """Answers (process, status, json, request_id); status None when the
        process did not answer (connection refused or dropped)."""
        c = self.cluster
        index = c.pick() if process is None else process
        rid = c.request_id()
        conn = self.conns.get(index)
        if conn is None:
            conn = self.conns[index] = http.client.HTTPConnection("127.0.0.1", c.servers[index].port, timeout=60)
        sent = time.time()
        try:
            data = None if body is None else json.dumps(body).encode()
            conn.request(method, path, body=data, headers={"x-api-key": c.key, "content-type": "application/json",
                                                            "x-request-id": rid})
            response = conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            self.conns.pop(index, None)
            c.mark_down(index)
            return index, None, None, rid, sent
        try:
            answer = json.loads(raw) if raw else None
        except ValueError:
            answer = raw[:200]
        return index, response.status, answer, rid, sent


class Ledger:
    """Every request sent: what, to whom, the answer."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ops = []

    def add(self, kind, subject, result, expect_action, target=None, extra=None):
        index, status, answer, rid, sent = result
        op = dict(kind=kind, subject=subject, process=index, status=status, answer=answer, rid=rid, sent=sent,
                  done=time.time(), action=expect_action, target=target, extra=extra or {})
        with self.lock:
            self.ops.append(op)
        return op


# MARK: One phase

class Phase:
    def __init__(self, number, admin_url, work_dir):
        self.number = number
        self.admin_url = admin_url
        self.work_dir = os.path.join(work_dir, f"phase{number}")
        os.makedirs(self.work_dir)
        self.db = f"clearance_multiproc_{number}"
        self.url = f"{admin_url.rsplit('/', 1)[0]}/{self.db}"
        self.ledger = Ledger()
        self.failures = []
        self.kill_info = None

    def fail(self, text):
        self.failures.append(text)

    def run(self):
        psql(self.admin_url, f"CREATE DATABASE {self.db};")
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARANCE_")}
        env["CLEARANCE_DATABASE_URL"] = self.url
        subprocess.run([os.environ["CLEARANCE_BIN"], "migrate"], env=env, check=True, capture_output=True)
        data_key = base64.b64encode(os.urandom(32)).decode()
        self.receiver = Receiver()
        self.servers = [Server(i, self.url, data_key, self.work_dir) for i in range(PROCESSES)]
        # All three at the same moment on the empty database: one admin key,
        # one default workflow, one data-key check value between them.
        for s in self.servers:
            s.spawn()
        for s in self.servers:
            s.wait_ready()
        admins = [s.admin_key for s in self.servers if s.admin_key]
        workflows = {s.workflow for s in self.servers}
        self.startup = (len(admins), len(workflows))
        if len(admins) != 1 or len(workflows) != 1:
            self.fail(f"concurrent first start: {len(admins)} admin keys printed, {len(workflows)} default workflows")
        self.workflow = self.servers[0].workflow
        self.setup(admins[0])
        try:
            self.load()
            self.drain()
            self.check()
        finally:
            for s in self.servers:
                if s.process.poll() is None:
                    s.stop()
            self.receiver.shutdown()

    def setup(self, admin):
        boot = Client(Cluster(self.servers, admin, self.number))
        _, status, made, _, _ = boot.call("POST", "/v3/api-keys/", {
            "name": "multiproc", "environment": "sandbox",
            "privileges": ["read:sessions", "write:sessions", "read:webhooks", "write:webhooks"],
            "roles": ["identityManager", "claimIssuer"]}, process=0)
        assert status == 201, made
        self.cluster = Cluster(self.servers, made["key"], self.number)
        _, status, destination, _, _ = Client(self.cluster).call(
            "POST", "/v3/webhook/destinations/", {"url": self.receiver.url, "subscribed_events": EVENTS}, process=1)
        assert status == 201, destination
        self.secret = destination["secret_shared_key"].encode()

    # MARK: Load

    def load(self):
        ledger = self.ledger
        work = queue.Queue()
        self.groups = {"contested": [], "fresh": [], "expiring": [], "document": []}
        self.kyc_contests = []  # (version_id, {action: op})
        self.kyc_users = []
        lock = threading.Lock()

        def create(group, scenario=None):
            def op(client):
                body = {"workflow_id": self.workflow}
                if scenario:
                    body["sandbox_scenario"] = scenario
                result = client.call("POST", "/v3/session/", body)
                ledger.add("session.create", None, result, "session.created")
                if result[1] == 201:
                    with lock:
                        self.groups[group].append(result[2]["session_id"])
            return op

        def run_pool(ops, threads=CLIENTS):
            for o in ops:
                work.put(o)
            workers = [threading.Thread(target=worker) for _ in range(threads)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()

        def worker():
            client = Client(self.cluster)
            while True:
                try:
                    o = work.get_nowait()
                except queue.Empty:
                    return
                o(client)
                with lock:
                    self.sent += 1

        self.sent = 0
        started = time.time()
        setup_ops = ([create("contested", "review_aml_possible_match") for _ in range(n(120))]
                     + [create("fresh") for _ in range(n(150))]
                     + [create("expiring") for _ in range(n(100))]
                     + [create("document") for _ in range(n(40))])
        random.shuffle(setup_ops)
        run_pool(setup_ops)
        # Half of the expiring sessions are started (In Progress: they will be
        # Abandoned), the others stay Not Started (they will be Expired).
        started_expiring = self.groups["expiring"][: len(self.groups["expiring"]) // 2]
        run_pool([self.node_op(s, "feature_liveness", "Approved") for s in started_expiring])
        setup_took = time.time() - started

        ops = []
        contested = self.groups["contested"]
        for _ in range(n(1500)):
            target = random.choices(["Approved", "Declined", "In Review", "Resubmitted"], [35, 35, 20, 10])[0]
            ops.append(self.status_op(random.choice(contested), target))
        for _ in range(n(300)):
            ops.append(self.node_op(random.choice(contested), random.choice(NODES),
                                    random.choice(["Approved", "Approved", "Declined", "In Review"])))
        for s in self.groups["fresh"]:
            for node in NODES:
                ops.append(self.node_op(s, node, random.choices(["Approved", "Declined", "In Review"], [85, 8, 7])[0]))
                if random.random() < 0.3:  # a conflicting second report of the same node
                    ops.append(self.node_op(s, node, random.choice(["Approved", "Declined", "In Review"])))
        for s in self.groups["expiring"]:
            if random.random() < 0.5:  # these race the sweep to a decision
                for node in NODES:
                    ops.append(self.node_op(s, node, "Approved"))
        for s in self.groups["document"]:
            for node in NODES:
                ops.append(self.node_op(s, node, "Approved", document_expiry=node == "feature_ocr"))
            if random.random() < 0.33:  # a reviewer declines while the document expires
                ops.append(self.status_op(s, "Declined"))
        random.shuffle(ops)
        # KYC flows are long (a dozen requests, delayed steps): spread them
        # over the first half of the load so they finish inside it.
        for i in range(n(80)):
            ops.insert(random.randrange(len(ops) // 2 + 1), self.kyc_flow(i))

        # The expiring sessions fall due 3–30 s into the load.
        load_start = time.time()
        self.expiries = {}
        values = []
        for s in self.groups["expiring"]:
            at = int((load_start + random.uniform(3, 30)) * 1000)
            self.expiries[s] = at
            values.append(f"('{s}', {at})")
        psql(self.url, "UPDATE sessions SET expires_at = v.at FROM (VALUES " + ",".join(values)
             + ") AS v(id, at) WHERE sessions.session_id = v.id;")

        total = len(ops)
        self.load_base = self.sent
        killer = None
        if self.number == 2:
            killer = threading.Thread(target=self.kill_one, args=(total,))
            killer.start()
        self.timers = []
        run_pool(ops)
        for t in self.timers:
            t.join()
        if killer:
            killer.join()
        self.load_took = time.time() - load_start
        self.setup_took = setup_took
        self.load_average = os.getloadavg()[0]

    def kill_one(self, total):
        victim = self.servers[2]
        while self.sent < self.load_base + total * 0.45:
            time.sleep(0.01)
        victim.kill9()
        killed_at = time.time()
        at = self.sent - self.load_base
        time.sleep(3)
        victim.spawn()
        victim.wait_ready()
        self.kill_info = dict(process=victim.index, after=at, total=total, killed_at=killed_at,
                              restarted_after=time.time() - killed_at)

    def status_op(self, session, target):
        ledger = self.ledger

        def op(client):
            result = client.call("PATCH", f"/v3/session/{session}/update-status/",
                                 {"new_status": target, "comment": f"chaos {target}"})
            ledger.add("session.status", session, result, "session.status_changed", target=target)
        return op

    def node_op(self, session, node, status, document_expiry=False):
        ledger = self.ledger

        def op(client):
            body = {"new_status": status}
            if document_expiry:  # the document expires 2–20 s from now: the Kyc Expired sweep
                body["data"] = {"expiration_date": iso(datetime.now(timezone.utc) + timedelta(seconds=random.uniform(2, 20))),
                                "issuing_state": "GBR"}
            result = client.call("PATCH", f"/v3/session/{session}/features/{node}/update-status/", body)
            ledger.add("session.node", session, result, "session.node_updated", target=status)
        return op

    def kyc_flow(self, i):
        ledger = self.ledger
        phase = self.number

        def call(client, kind, method, path, body, action, subject, process=None, target=None):
            result = client.call(method, path, body, process=process)
            return ledger.add(kind, subject, result, action, target=target)

        def new_version(client, user):
            o = call(client, "kyc.version", "POST", f"/api/v2/kyc-profiles/{user}/versions", {"initialData": {
                "firstName": "Ada", "lastName": f"Chaos{i}", "dob": "1990-01-01", "country": "GB",
                "residencyStatus": "resident", "nationalId": f"MP{phase}X{i:05d}"}}, "kyc.version.created", user)
            if o["status"] != 201:
                return None
            version = o["answer"]["data"]["id"]
            o = call(client, "kyc.submit", "POST", f"/api/v2/kyc-profile-versions/{version}/submissions", {},
                     "kyc.version.submitted", version)
            return version if o["status"] and o["status"] < 300 else None

        def contest(version, actions):
            """The actions at the same moment, each to a different process."""
            barrier = threading.Barrier(len(actions))
            results = {}

            def one(k, action):
                c = Client(self.cluster)
                path, body, audit = {
                    "approve": ("approvals", {}, "kyc.version.approved"),
                    "reject": ("rejections", {"rejectionReason": "chaos: the document is unreadable"}, "kyc.version.rejected"),
                    "request": ("update-requests", {"reason": "chaos: send a clearer scan"}, "kyc.version.changes_requested"),
                }[action]
                barrier.wait()
                results[action] = call(c, "kyc.review", "POST", f"/api/v2/kyc-profile-versions/{version}/{path}", body,
                                       audit, version, process=k % PROCESSES, target=action)

            threads = [threading.Thread(target=one, args=(k, a)) for k, a in enumerate(actions)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.kyc_contests.append((version, results))

        def request_update(client, version, due_in, process=None):
            due = iso(datetime.now(timezone.utc) + timedelta(seconds=due_in))
            return call(client, "kyc.review", "POST", f"/api/v2/kyc-profile-versions/{version}/update-requests",
                        {"reason": "chaos: the address is missing", "dueAt": due}, "kyc.version.changes_requested",
                        version, process=process, target="request")

        def flow(client):
            o = call(client, "kyc.user", "POST", "/api/v2/users",
                     {"email": f"chaos{i}@example.com", "firstName": "Ada", "lastName": f"Chaos{i}"}, "kyc.user.created", None)
            if o["status"] != 201:
                return
            user = o["answer"]["data"]["id"]
            self.kyc_users.append(user)
            version = new_version(client, user)
            if version is None:
                return
            mode = random.random()
            if mode < 0.55:
                actions = ["approve", "reject", "request"]
                random.shuffle(actions)
                contest(version, actions)
                if random.random() < 0.4:  # a second version: approval supersedes the first
                    second = new_version(client, user)
                    if second:
                        contest(second, ["approve", "reject"])
            elif mode < 0.85:
                # Two update requests at once (one cancels the other), due in
                # 2–15 s; an approval 0–20 s later races the expiry sweep.
                barrier = threading.Barrier(2)

                def one(k):
                    barrier.wait()
                    request_update(Client(self.cluster), version, random.uniform(2, 15), process=k)
                ts = [threading.Thread(target=one, args=(k,)) for k in range(2)]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join()

                def late_approval():
                    call(Client(self.cluster), "kyc.review", "POST", f"/api/v2/kyc-profile-versions/{version}/approvals", {},
                         "kyc.version.approved", version, target="approve")
                if random.random() < 0.6:
                    timer = threading.Timer(random.uniform(0, 20), late_approval)
                    self.timers.append(timer)
                    timer.start()
            else:
                # Changes requested, the user answers with a new version (which
                # supersedes the one sent back), and reviewers contest it.
                request_update(client, version, 3600)
                second = new_version(client, user)
                if second:
                    contest(second, ["approve", "reject", "request"])
        flow.kyc = True
        return flow

    # MARK: Drain

    def drain(self):
        """Until every expiry passed and was swept, and every committed event
        was delivered and the receiver is quiet."""
        started = time.time()
        # Everything that falls due within the next two minutes must have
        # come due (and been swept) before the database is read: sessions'
        # expiry, documents' expiry, action requests' dueAt.
        horizon = psql(self.url, """SELECT greatest(
            (SELECT max(expires_at) FROM sessions WHERE status IN ('Not Started','In Progress','Resubmitted') AND expires_at < {soon}),
            (SELECT max(document_expires_at) FROM sessions WHERE document_expires_at < {soon}),
            (SELECT max(due_at) FROM kyc_action_requests WHERE status = 'open' AND due_at < {soon}), 0);""".format(
            soon=int((time.time() + 120) * 1000))).strip()
        latest = max(list(self.expiries.values()) + [int(horizon or 0)]) / 1000
        while time.time() < latest + 2:
            time.sleep(0.5)
        deadline = time.time() + 240
        last = None
        while time.time() < deadline:
            due = rows(self.url, self.due_query())
            pending = rows(self.url, "SELECT status, count(*) AS n FROM webhook_deliveries WHERE status <> 'delivered' GROUP BY status")
            events = int(psql(self.url, "SELECT count(*) FROM webhook_events;").strip())
            received = len(self.receiver.unique_events())
            emails = int(psql(self.url, "SELECT count(*) FROM email_outbox WHERE status <> 'sent';").strip())
            state = (len(due), tuple(sorted((p["status"], p["n"]) for p in pending)), events, received, emails)
            if not due and not pending and not emails and received >= events and state == last:
                break
            last = state
            time.sleep(1)
        self.drain_state = last
        self.drain_took = time.time() - started

    @staticmethod
    def due_query():
        now = "(extract(epoch from clock_timestamp()) * 1000)::bigint"
        return (f"SELECT session_id AS id FROM sessions WHERE deleted_at IS NULL AND "
                f"((status IN ('Not Started','In Progress','Resubmitted') AND expires_at <= {now} - 1000) OR "
                f"(status = 'Approved' AND document_expires_at <= {now} - 1000)) "
                f"UNION ALL SELECT id FROM kyc_action_requests WHERE status = 'open' AND due_at <= {now} - 1000")

    # MARK: Checks

    def check(self):
        url = self.url
        report = self.report = {}
        verify = subprocess.run([os.environ["CLEARANCE_BIN"], "audit", "verify"], capture_output=True, text=True,
                                env={**{k: v for k, v in os.environ.items() if not k.startswith("CLEARANCE_")},
                                     "CLEARANCE_DATABASE_URL": url})
        report["audit"] = (verify.stdout + verify.stderr).strip()
        if verify.returncode != 0:
            self.fail(f"audit verify: {report['audit']}")

        (sessions, review_rows, audit, events, deliveries, versions, requests, users, still_due, emails) = snapshot(url, [
            "SELECT session_id, status, expires_at, document_expires_at, event_sequence FROM sessions",
            "SELECT session_id, actor, previous_status, new_status, sequence FROM session_reviews ORDER BY session_id, sequence",
            "SELECT sequence, actor, action, subject_type, subject_id, before_json, after_json, request_id FROM audit_log ORDER BY sequence",
            "SELECT event_id, webhook_type, session_id, sequence FROM webhook_events",
            "SELECT event_id, status, attempts FROM webhook_deliveries",
            "SELECT id, user_id, status, review_outcome FROM kyc_versions",
            "SELECT id, user_id, version_id, status, due_at FROM kyc_action_requests",
            "SELECT id, event_sequence FROM kyc_users",
            self.due_query(),
            "SELECT message_id, status FROM email_outbox",
        ])
        sessions = {r["session_id"]: r for r in sessions}
        reviews = {}
        for r in review_rows:
            reviews.setdefault(r["session_id"], []).append(r)
        versions = {r["id"]: r for r in versions}
        requests = {r["id"]: r for r in requests}
        users = {r["id"]: r for r in users}

        # Session histories.
        broken = []
        audit_by_subject = {}
        for a in audit:
            audit_by_subject.setdefault(a["subject_id"], []).append(a)
        transitions = sweeps_total = 0
        for sid, s in sessions.items():
            history = reviews.get(sid, [])
            state = "Not Started"
            for r in history:
                transitions += 1
                move = (r["previous_status"], r["new_status"])
                by_sweep = r["actor"] == "system:sweep"
                sweeps_total += by_sweep
                manual = move[0] in MANUAL_SOURCES and move[1] in MANUAL_TARGETS and move[0] != move[1]
                if r["previous_status"] != state:
                    broken.append(f"{sid}: {move} after {state}")
                elif by_sweep and move not in SWEEP_MOVES:
                    broken.append(f"{sid}: sweep made {move}")
                elif not by_sweep and (move in SWEEP_MOVES or not (manual or move in AUTOMATIC_MOVES)):
                    broken.append(f"{sid}: {r['actor']} made {move}")
                state = r["new_status"]
            if state != s["status"]:
                broken.append(f"{sid}: history ends in {state}, stored {s['status']}")
            trail = [(json.loads(a["before_json"])["status"], json.loads(a["after_json"])["status"], a["actor"])
                     for a in audit_by_subject.get(sid, []) if a["action"] == "session.status_changed"]
            if trail != [(r["previous_status"], r["new_status"], r["actor"]) for r in history]:
                broken.append(f"{sid}: audit trail differs from the reviews")
        report["sessions"] = (len(sessions), transitions, sweeps_total)

        # KYC version histories (audit) and decisions.
        kyc_broken = []
        for vid, v in versions.items():
            entries = [a for a in audit_by_subject.get(vid, []) if a["subject_type"] == "kyc_version"]
            state = None
            decisions = 0
            for a in entries:
                before = json.loads(a["before_json"]) if a["before_json"] else {}
                after = json.loads(a["after_json"]) if a["after_json"] else {}
                if a["action"] == "kyc.version.created":
                    if state is not None:
                        kyc_broken.append(f"{vid}: created twice")
                    state = after.get("status")
                    continue
                if "status" not in after:
                    continue  # edits
                move = (before.get("status"), after["status"])
                if move[0] != state or move not in KYC_MOVES:
                    kyc_broken.append(f"{vid}: {a['action']} {move} after {state}")
                if a["action"] in ("kyc.version.approved", "kyc.version.rejected"):
                    decisions += 1
                state = after["status"]
            if state != v["status"]:
                kyc_broken.append(f"{vid}: history ends in {state}, stored {v['status']}")
            if decisions > 1:
                kyc_broken.append(f"{vid}: decided {decisions} times")
        # Concurrent approve / reject (/ request-update) on one version: the
        # database holds exactly one decision, at most one of them was
        # answered 2xx, and that one is the decision committed; when all
        # were answered, exactly one was 2xx.
        decisions_of = {}
        for a in audit:
            if a["action"] in ("kyc.version.approved", "kyc.version.rejected"):
                decisions_of.setdefault(a["subject_id"], []).append(a)
        contests_answered = contests_unanswered = contests_bad = 0
        for vid, results in self.kyc_contests:
            deciders = [results[a] for a in ("approve", "reject") if a in results]
            winners = [o for o in deciders if o["status"] is not None and o["status"] < 300]
            committed = decisions_of.get(vid, [])
            all_answered = all(o["status"] is not None for o in results.values())
            good = (len(committed) == 1 and len(winners) <= 1
                    and all(w["rid"] == committed[0]["request_id"] for w in winners)
                    and (len(winners) == 1 or not all_answered))
            if not good:
                contests_bad += 1
                kyc_broken.append(f"{vid}: concurrent approve/reject: answered 2xx {[w['target'] for w in winners]}, "
                                  f"committed {[c['action'] for c in committed]}")
            elif all_answered:
                contests_answered += 1
            else:
                contests_unanswered += 1
        report["kyc"] = (len(users), len(versions), len(self.kyc_contests), contests_answered, contests_unanswered,
                         contests_bad)

        # Action requests: one resolution each, the sweep's expiry at most once.
        request_problems = []
        expired_audit = {}
        for rid_, r in requests.items():
            entries = audit_by_subject.get(rid_, [])
            created = [a for a in entries if a["action"] == "kyc.action_request.created"]
            resolved = [a for a in entries if a["action"] != "kyc.action_request.created"]
            expired_audit[rid_] = sum(a["action"] == "kyc.action_request.expired" for a in entries)
            if len(created) != 1:
                request_problems.append(f"{rid_}: created {len(created)} times in the audit")
            if r["status"] == "open":
                if resolved:
                    request_problems.append(f"{rid_}: open but resolved in the audit")
            elif [a["action"] for a in resolved] != [f"kyc.action_request.{r['status']}"]:
                request_problems.append(f"{rid_}: {r['status']} but the audit says {[a['action'] for a in resolved]}")

        # Deliveries.
        with self.receiver.lock:
            received = list(self.receiver.deliveries)
            overlaps = list(self.receiver.overlaps)
        with open(os.path.join(self.work_dir, "received.jsonl"), "w") as f:
            for d in received:
                f.write(json.dumps(dict(arrived=d["arrived"], done=d["done"], sender=d["sender"], body=d["body"].decode())) + "\n")
        bad_signatures = 0
        unique = {}
        for d in received:
            expected = hmac.new(self.secret, d["body"], hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, d["signature"]):
                bad_signatures += 1
            unique.setdefault(d["event_id"], json.loads(d["body"]))
        # Overlap from the recorded intervals too (the live counter above is the primary).
        by_event = {}
        for d in received:
            by_event.setdefault(d["event_id"], []).append((d["arrived"], d["done"]))
        overlapping = 0
        for spans in by_event.values():
            spans.sort()
            for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
                if b0 < a1:
                    overlapping += 1
        committed = {e["event_id"] for e in events}
        # Nothing may have committed since the snapshot (else the comparison
        # with the receiver, read after it, would not be fair).
        later = int(psql(url, "SELECT count(*) FROM webhook_events;").strip())
        if later != len(events):
            self.fail(f"the system was not quiet during the checks: {later - len(events)} events committed after the snapshot")
        missing = committed - set(unique)
        extra = set(unique) - committed
        undelivered = [d for d in deliveries if d["status"] != "delivered"]
        event_problems = []
        per_subject = {}
        for e in unique.values():
            key = e.get("session_id") or e.get("user_id")
            per_subject.setdefault(key, []).append(e)
        for sid, s in sessions.items():
            got = sorted(per_subject.get(sid, []), key=lambda e: e["sequence"])
            if [e["sequence"] for e in got] != list(range(1, s["event_sequence"] + 1)):
                event_problems.append(f"{sid}: event sequences {[e['sequence'] for e in got][:12]}… of {s['event_sequence']}")
                continue
            changes = [(e["sequence"], e["previous_status"], e["status"]) for e in got if e["webhook_type"] == "status.updated"]
            if changes != [(r["sequence"], r["previous_status"], r["new_status"]) for r in reviews.get(sid, [])]:
                event_problems.append(f"{sid}: status events differ from the committed history")
        for uid, u in users.items():
            got = sorted(e["sequence"] for e in per_subject.get(uid, []))
            if got != list(range(1, u["event_sequence"] + 1)):
                event_problems.append(f"{uid}: event sequences {got} of {u['event_sequence']}")
        expired_events = {}
        for e in unique.values():
            if e["webhook_type"] == "kyc.action_request.expired":
                ar = e["action_request"]["id"]
                expired_events[ar] = expired_events.get(ar, 0) + 1
        senders = {}
        for d in received:
            senders[d["sender"]] = senders.get(d["sender"], 0) + 1
        report["senders"] = senders
        report["webhooks"] = (len(committed), len(received), len(received) - len(unique), len(missing), len(extra),
                              len(undelivered), bad_signatures, len(overlaps), overlapping)

        # Sweeps: each expiring subject swept once, or out of reach before its time.
        sweep_problems = []
        swept_once = left_before = 0
        expiring = self.groups["expiring"] + self.groups["document"]
        for sid in expiring:
            history = reviews.get(sid, [])
            sweeps = [r for r in history if r["actor"] == "system:sweep"]
            if len(sweeps) > 1:
                sweep_problems.append(f"{sid}: swept {len(sweeps)} times")
            elif sweeps:
                swept_once += 1
            else:
                left_before += 1
            sweep_audit = [a for a in audit_by_subject.get(sid, []) if a["actor"] == "system:sweep"]
            if len(sweep_audit) != len(sweeps):
                sweep_problems.append(f"{sid}: {len(sweeps)} sweeps but {len(sweep_audit)} sweep audit entries")
        for sid, history in reviews.items():
            if sid not in expiring and any(r["actor"] == "system:sweep" for r in history):
                sweep_problems.append(f"{sid}: swept but never due")
        requests_expired = requests_resolved_before = 0
        for rid_, r in requests.items():
            if r["due_at"] is None or r["due_at"] > time.time() * 1000 + 600_000:
                continue
            if r["status"] == "expired":
                requests_expired += 1
                if expired_audit[rid_] != 1 or expired_events.get(rid_, 0) != 1:
                    sweep_problems.append(f"{rid_}: expired with {expired_audit[rid_]} audit entries, "
                                          f"{expired_events.get(rid_, 0)} events")
            else:
                requests_resolved_before += 1
                if expired_audit[rid_] or expired_events.get(rid_):
                    sweep_problems.append(f"{rid_}: {r['status']} yet expired in the audit or events")
        if still_due:
            sweep_problems.append(f"{len(still_due)} subjects still due after the drain: {still_due[:3]}")
        report["sweeps"] = (len(expiring), swept_once, left_before, requests_expired, requests_resolved_before,
                            len(sweep_problems))

        # Answers, and acknowledged-means-committed.
        codes = {}
        unexpected = []
        unacked = 0
        acked_missing = []
        noop_acks = 0
        by_rid = {}
        for a in audit:
            if a["request_id"]:
                by_rid.setdefault(a["request_id"], set()).add(a["action"])
        histories = {sid: {"Not Started"} | {r["new_status"] for r in reviews.get(sid, [])} for sid in sessions}
        for op in self.ledger.ops:
            status = op["status"]
            codes[status] = codes.get(status, 0) + 1
            if status is None:
                unacked += 1
                continue
            allowed = (200, 201, 409) if op["kind"].startswith("kyc") else (200, 201, 400, 429)
            if status not in allowed:
                unexpected.append((op["kind"], status, op["answer"]))
                continue
            if status >= 300:
                continue
            if op["action"] in by_rid.get(op["rid"], set()):
                continue
            if op["kind"] == "session.status" and op["target"] in histories.get(op["subject"], set()):
                noop_acks += 1  # the session already had that status: 200, nothing written
                continue
            acked_missing.append((op["kind"], op["subject"], op["rid"]))
        report["answers"] = (len(self.ledger.ops), codes, unacked, noop_acks, len(acked_missing), len(unexpected))

        # Emails (KYC rejections and update requests): the same multi-process
        # outbox pattern, written as .eml files into each process's data dir.
        sent_ids = []
        for server in self.servers:
            folder = os.path.join(server.data_dir, "emails")
            for name in os.listdir(folder) if os.path.isdir(folder) else []:
                with open(os.path.join(folder, name), errors="replace") as f:
                    for line in f:
                        if line.lower().startswith("message-id:"):
                            sent_ids.append(line.split(":", 1)[1].strip().strip("<>"))
                            break
        email_missing = [e for e in emails if e["status"] != "sent" or e["message_id"] not in sent_ids]
        email_repeats = len(sent_ids) - len(set(sent_ids))
        report["emails"] = (len(emails), len(sent_ids), email_repeats, len(email_missing))
        if email_missing or set(sent_ids) - {e["message_id"] for e in emails}:
            self.fail(f"emails: {len(email_missing)} queued but not sent, e.g. {email_missing[:3]}")
        if email_repeats and self.kill_info is None:
            self.fail(f"emails: {email_repeats} sent twice without any process being killed")

        errors = {s.index: s.errors() for s in self.servers}
        report["errors"] = errors

        for label, problems in (("session histories", broken), ("KYC histories", kyc_broken),
                                ("action requests", request_problems), ("events", event_problems),
                                ("sweeps", sweep_problems)):
            if problems:
                self.fail(f"{label}: {len(problems)}, e.g. {problems[:3]}")
        repeated = [eid for eid, spans in by_event.items() if len(spans) > 1]
        if repeated:
            # Why an event arrived twice: the sender's own record of its attempts.
            ids = ",".join(f"'{eid}'" for eid in repeated[:5])
            for a in rows(url, f"SELECT d.event_id, a.number, a.status_code, a.error FROM webhook_attempts a "
                               f"JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.event_id IN ({ids}) "
                               f"ORDER BY d.event_id, a.number"):
                log(f"phase {self.number}: repeated delivery {a['event_id']}: attempt {a['number']} "
                    f"answered {a['status_code']}, error {str(a['error'])[:160]}")
        if extra:
            # What arrived without having committed: when, relative to the kill, and what it said.
            killed_at = self.kill_info["killed_at"] if self.kill_info else None
            for d in received:
                if d["event_id"] in extra:
                    e = json.loads(d["body"])
                    when = f"{d['arrived'] - killed_at:+.3f} s from the kill" if killed_at else f"at {d['arrived']:.3f}"
                    log(f"phase {self.number}: delivered but not committed, by {d['sender']}, {when}: {e['webhook_type']} "
                        f"{e.get('session_id') or e.get('user_id')} #{e['sequence']} {e.get('previous_status')} -> {e['status']}")
        if missing or extra or undelivered or bad_signatures or overlaps or overlapping:
            self.fail(f"webhooks: missing {len(missing)}, extra {len(extra)}, undelivered rows {len(undelivered)}, "
                      f"bad signatures {bad_signatures}, overlaps {len(overlaps)}/{overlapping}")
        if unacked and self.kill_info is None:
            self.fail(f"{unacked} requests got no answer without any process being killed")
        if acked_missing:
            self.fail(f"acknowledged but not committed: {len(acked_missing)}, e.g. {acked_missing[:3]}")
        if unexpected:
            self.fail(f"unexpected answers: {len(unexpected)}, e.g. {unexpected[:3]}")
        if any(errors.values()):
            self.fail(f"errors logged: " + "; ".join(f"process {i}: {len(e)}, e.g. {e[:2]}" for i, e in errors.items() if e))

    def summary(self):
        r = self.report
        p = f"phase {self.number}"
        lines = []
        lines.append(f"{p}: startup: three processes at once on an empty database: admin keys printed {self.startup[0]}, "
                     f"default workflows {self.startup[1]}")
        if self.kill_info:
            k = self.kill_info
            down = [o for o in self.ledger.ops
                    if k["killed_at"] <= o["sent"] <= k["killed_at"] + k["restarted_after"] and o["status"] is not None]
            lines.append(f"{p}: kill -9 of process {k['process']} after {k['after']} of {k['total']} operations, "
                         f"restarted {k['restarted_after']:.1f} s later; meanwhile the other two answered {len(down)} requests")
        total, codes, unacked, noop, acked_missing, unexpected = r["answers"]
        code_text = ", ".join(f"{c if c is not None else 'no answer'}: {v}" for c, v in
                              sorted(codes.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)))
        lines.append(f"{p}: requests {total} (setup {self.setup_took:.1f} s, load {self.load_took:.1f} s, "
                     f"load average {self.load_average:.1f}; drained {self.drain_took:.1f} s later), by answer: {code_text}")
        lines.append(f"{p}: acknowledged but not committed {acked_missing}; same-status no-ops acknowledged {noop}; "
                     f"unanswered (process killed) {unacked}; unexpected answers (5xx included) {unexpected}")
        lines.append(f"{p}: audit: {r['audit']}")
        s_count, transitions, sweeps = r["sessions"]
        lines.append(f"{p}: sessions {s_count}, committed transitions {transitions} (by the sweep {sweeps})")
        users, versions, contests, answered, unanswered, bad = r["kyc"]
        lines.append(f"{p}: KYC users {users}, versions {versions}; concurrent approve/reject on one version {contests}: "
                     f"one decision committed and answered {answered}, one decision committed with an action "
                     f"unanswered {unanswered}, other {bad}")
        expiring, once, before, ar_expired, ar_before, problems = r["sweeps"]
        lines.append(f"{p}: expiring sessions {expiring}: swept once {once}, left the expirable state first {before}; "
                     f"due action requests: expired once {ar_expired}, resolved first {ar_before}; sweep problems {problems}")
        committed, received, dups, missing, extra, undelivered, bad_sig, overlaps, overlapping = r["webhooks"]
        lines.append(f"{p}: events committed {committed}; deliveries received {received} ({dups} repeated), "
                     f"committed but not delivered {missing}, delivered but not committed {extra}, "
                     f"rows not delivered {undelivered}, bad signatures {bad_sig}, in flight twice at once {overlaps + overlapping}")
        lines.append(f"{p}: deliveries by sending process: " + ", ".join(f"{k} {v}" for k, v in sorted(r["senders"].items())))
        queued, files, repeats, missing_emails = r["emails"]
        lines.append(f"{p}: emails queued {queued}, files written {files} ({repeats} repeated), not sent {missing_emails}")
        errors = sum(len(e) for e in r["errors"].values())
        lines.append(f"{p}: errors logged by the processes {errors}")
        for f in self.failures:
            lines.append(f"{p}: FAILED: {f}")
        return lines


def main():
    admin_url = os.environ["CLEARANCE_TEST_POSTGRES_URL"]
    work_dir = tempfile.mkdtemp(prefix="clearance-multiproc-")
    log(f"three processes on PostgreSQL; phases {PHASES}; scale {SCALE}; {CLIENTS} client threads; logs in {work_dir} (removed if it passes)")
    phases = []
    try:
        for number in PHASES:
            phase = Phase(number, admin_url, work_dir)
            phases.append(phase)
            phase.run()
            for line in phase.summary():
                log(line)
    finally:
        for process in Server.started:
            if process.poll() is None:
                process.kill()
        # PostgreSQL's log, for a failure's post-mortem (the cluster is thrown away).
        pg_log = os.path.join(os.environ.get("CLEARANCE_PG_DIR", ""), "server.log")
        if os.path.exists(pg_log):
            subprocess.run(["cp", pg_log, os.path.join(work_dir, "postgresql.log")])
    ok = all(not p.failures for p in phases) and len(phases) == len(PHASES)
    log("PASS" if ok else "FAIL")
    # A passing run's logs go; a failing one's stay for the post-mortem, as
    # they do when CHAOS_KEEP is set.
    if ok and not os.environ.get("CHAOS_KEEP"):
        shutil.rmtree(work_dir, ignore_errors=True)
    else:
        log(f"logs kept in {work_dir}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
