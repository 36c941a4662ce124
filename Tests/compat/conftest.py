"""Starts a real `clearance serve` for the compatibility tests.

The binary is CLEARANCE_BIN (scripts/compat.sh passes the debug build); the
database is CLEARANCE_DATABASE_URL when set, else SQLite in a temporary
directory. Keys are minted the way an operator would: the first-start admin
key from the server's output, the rest through /v3/api-keys/.
"""
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import httpx
import pytest

# Every secret and every piece of personal data the tests hand a server, to
# be looked for in its log when it stops (as the Swift suite's TestServer
# does): keys, webhook and SMTP secrets, and the values of these fields in
# the JSON the tests send and get back. Values shorter than 6 made only of
# ASCII letters and digits ("Ada", "GB") turn up by chance in ids; with any
# other character ("Zoë", "Lucía") 3 are enough.
SENSITIVE_FIELDS = {
    "key", "api_key", "secret", "secret_shared_key", "standard_webhooks_secret", "password", "session_token",
    "first_name", "last_name", "full_name", "firstName", "lastName", "date_of_birth", "dob", "document_number",
    "identification_number", "nationalId", "personal_number", "email", "email_address", "phone", "address",
    "fileData", "portrait_image",
}
SECRETS = {}


def record(value, label):
    if not isinstance(value, str):
        return
    value = value.strip()
    plain = value.isascii() and value.isalnum()
    if len(value) >= (6 if plain else 3):
        SECRETS.setdefault(value[:128], label)


def record_fields(node, field=None):
    if isinstance(node, dict):
        for key, value in node.items():
            record_fields(value, key)
    elif isinstance(node, list):
        for value in node:
            record_fields(value, field)
    elif field in SENSITIVE_FIELDS:
        record(node, field)


def record_body(raw):
    try:
        record_fields(json.loads(raw))
    except (ValueError, TypeError):
        pass


def record_headers(headers):
    record(headers.get("x-api-key"), "api key")
    record((headers.get("authorization") or "").removeprefix("Bearer "), "bearer key")


# The didit SDK talks through httpx: what it sends and gets back is recorded
# on the way, nothing changed.
_send = httpx.Client.send


def _recording_send(self, request, **kwargs):
    record_headers(request.headers)
    record_body(request.content)
    response = _send(self, request, **kwargs)
    if not kwargs.get("stream"):
        record_body(response.content)
    return response


httpx.Client.send = _recording_send


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, extra_env=None) -> None:
        self.data_dir = tempfile.mkdtemp(prefix="clearance-compat-")
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARANCE_") or k == "CLEARANCE_DATABASE_URL"}
        env.update(CLEARANCE_DATA_DIR=self.data_dir, CLEARANCE_LISTEN=f"127.0.0.1:{self.port}",
                   # Everything, so stop() has the most log to search for secrets.
                   CLEARANCE_LOG_LEVEL="trace",
                   # The receivers in these tests listen on loopback; retries compressed for test time.
                   CLEARANCE_ALLOW_PRIVATE_WEBHOOK_TARGETS="1", CLEARANCE_WEBHOOK_RETRY_SCALE="0.001")
        env.update(extra_env or {})
        smtp = urllib.parse.urlsplit(env.get("CLEARANCE_SMTP_URL", ""))
        if smtp.password:
            record(urllib.parse.unquote(smtp.password), "SMTP password")
            record(smtp.password, "SMTP password")
        self.log_path = os.path.join(self.data_dir, "serve.log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [os.environ["CLEARANCE_BIN"], "serve"], env=env, stdout=subprocess.PIPE, stderr=self.log, text=True
        )
        self.admin_key = None
        self.default_workflow = None
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("clearance serve exited: " + open(self.log_path).read())
            line = line.strip()
            if line.startswith("clr_"):
                self.admin_key = line
            elif "default KYC workflow" in line:
                self.default_workflow = line.split()[-1]
            elif "listening on" in line:
                break
        assert self.admin_key and self.default_workflow, "serve did not print the admin key and default workflow"
        record(self.admin_key, "admin key")

    def request(self, method: str, path: str, key: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        record(key, "api key")
        if data:
            record_body(data)
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("x-api-key", key)
        req.add_header("content-type", "application/json")
        with urllib.request.urlopen(req) as resp:
            raw = resp.read()
            record_body(raw)
            return json.loads(raw) if raw else None

    def key(self, environment: str = "live", privileges=None, roles=None) -> str:
        body = {"name": "compat", "environment": environment, "privileges": privileges or [], "roles": roles or []}
        return self.request("POST", "/v3/api-keys/", self.admin_key, body)["key"]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        log = open(self.log_path, encoding="utf-8", errors="replace").read()
        assert log.strip(), "the log is being written"
        leaks = sorted({label for value, label in SECRETS.items() if value in log})
        assert not leaks, f"{', '.join(leaks)} reached the log of clearance serve ({self.log_path})"


@pytest.fixture(scope="session")
def server():
    s = Server()
    yield s
    s.stop()
