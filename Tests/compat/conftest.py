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
import urllib.request

import pytest


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
        env.update(CLEARANCE_DATA_DIR=self.data_dir, CLEARANCE_LISTEN=f"127.0.0.1:{self.port}", CLEARANCE_LOG_LEVEL="warning",
                   # The receivers in these tests listen on loopback; retries compressed for test time.
                   CLEARANCE_ALLOW_PRIVATE_WEBHOOK_TARGETS="1", CLEARANCE_WEBHOOK_RETRY_SCALE="0.001")
        env.update(extra_env or {})
        self.process = subprocess.Popen(
            [os.environ["CLEARANCE_BIN"], "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.admin_key = None
        self.default_workflow = None
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("clearance serve exited: " + self.process.stderr.read())
            line = line.strip()
            if line.startswith("clr_"):
                self.admin_key = line
            elif "default KYC workflow" in line:
                self.default_workflow = line.split()[-1]
            elif "listening on" in line:
                break
        assert self.admin_key and self.default_workflow, "serve did not print the admin key and default workflow"

    def request(self, method: str, path: str, key: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("x-api-key", key)
        req.add_header("content-type", "application/json")
        with urllib.request.urlopen(req) as resp:
            raw = resp.read()
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


@pytest.fixture(scope="session")
def server():
    s = Server()
    yield s
    s.stop()
