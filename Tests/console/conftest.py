"""A real `clearance serve`, console users made with the real CLI, and a
headless Chromium driven by Selenium.

CLEARANCE_BIN is the binary; CLEARANCE_DATABASE_URL, when set, the database
(else SQLite in a temporary directory); CLEARANCE_SCREENSHOTS the folder the
page screenshots go to (scripts/console.sh creates and prints it).
"""
import http.server
import json
import os
import socket
import subprocess
import tempfile
import threading
import time
import base64
import struct
import urllib.request
import zlib

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

PASSWORD = "correct horse battery"
USERS = {
    "rita@example.com": "reviewer",
    "sam@example.com": "reviewer",
    "kim@example.com": "claimIssuer",
    "ada@example.com": "admin",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self) -> None:
        self.data_dir = tempfile.mkdtemp(prefix="clearance-console-")
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARANCE_") or k == "CLEARANCE_DATABASE_URL"}
        self.env.update(CLEARANCE_DATA_DIR=self.data_dir, CLEARANCE_LISTEN=f"127.0.0.1:{self.port}",
                        # Everything, so the test that no secret reaches the log has the most log to read.
                        CLEARANCE_LOG_LEVEL="trace", CLEARANCE_ALLOW_PRIVATE_WEBHOOK_TARGETS="1",
                        CLEARANCE_WEBHOOK_RETRY_SCALE="0.001",
                        # 3.6 s, so the queue shows sessions past their SLA.
                        CLEARANCE_REVIEW_SLA_HOURS="0.001")
        self.log_path = os.path.join(self.data_dir, "serve.log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([os.environ["CLEARANCE_BIN"], "serve"], env=self.env,
                                        stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.admin_key = None
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
        assert self.admin_key, "serve did not print the admin key"
        # Keys and webhook secrets handed out, for the log test to look for.
        self.secrets = [self.admin_key]

    def cli(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([os.environ["CLEARANCE_BIN"], *args], env=self.env, input=stdin,
                              capture_output=True, text=True, timeout=60)

    def request(self, method: str, path: str, key: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("x-api-key", key)
        req.add_header("content-type", "application/json")
        with urllib.request.urlopen(req) as resp:
            raw = resp.read()
            answer = json.loads(raw) if raw else None
            if isinstance(answer, dict):
                self.secrets += [answer[name] for name in ("key", "secret_shared_key") if isinstance(answer.get(name), str)]
            return answer

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def portrait_png(width: int = 60, height: int = 80) -> str:
    """A small real PNG (a face-coloured oval on grey), base64, as an integration would send."""
    rows = b""
    for y in range(height):
        rows += b"\x00"
        for x in range(width):
            inside = ((x - width / 2) / (width * 0.38)) ** 2 + ((y - height * 0.45) / (height * 0.36)) ** 2 <= 1
            rows += bytes((224, 182, 150) if inside else (200, 205, 212))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return base64.b64encode(png).decode()


class GoneReceiver(http.server.BaseHTTPRequestHandler):
    """A webhook receiver that answers 410, so deliveries fail at once."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(410)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def server():
    s = Server()
    for email, role in USERS.items():
        done = s.cli("users", "create", "--email", email, "--role", role, "--password-stdin", stdin=PASSWORD + "\n")
        assert done.returncode == 0, done.stderr
    yield s
    s.stop()


@pytest.fixture(scope="session")
def sandbox(server):
    """A sandbox key, a failing webhook destination, and three sessions the
    scenario leaves In Review (oldest first: a, b, c)."""
    key = server.request("POST", "/v3/api-keys/", server.admin_key,
                         {"name": "console-tests", "environment": "sandbox", "roles": ["admin"], "privileges": []})["key"]
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), GoneReceiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    server.request("POST", "/v3/webhook/destinations/", key,
                   {"url": f"http://127.0.0.1:{receiver.server_address[1]}/hook", "subscribed_events": ["status.updated"]})
    sessions = {}
    for name, first in (("a", "Ana"), ("b", "Bruno"), ("c", "Chloé")):
        created = server.request("POST", "/v3/session/", key, {
            "workflow_id": server.default_workflow, "vendor_data": f"console-{name}",
            "sandbox_scenario": "review_aml_possible_match",
            "contact_details": {"email": f"{first.lower()}@example.com"},
            "expected_details": {"first_name": first, "last_name": "Example", "date_of_birth": "1990-04-02"},
            "portrait_image": portrait_png(),
        })
        assert created["status"] == "In Review"
        sessions[name] = created["session_id"]
        time.sleep(0.01)
    four_eyes = server.request("POST", "/v3/workflows/", key, {
        "name": "Premium (four-eyes)", "nodes": [{"feature": "OCR"}, {"feature": "AML"}], "settings": {"four_eyes": True}})
    created = server.request("POST", "/v3/session/", key, {
        "workflow_id": four_eyes["workflow_id"], "vendor_data": "console-four-eyes", "sandbox_scenario": "review_aml_possible_match",
        "expected_details": {"first_name": "Dana", "last_name": "Example"}})
    assert created["status"] == "In Review"
    sessions["four_eyes"] = created["session_id"]
    yield {"key": key, "sessions": sessions}
    receiver.shutdown()


@pytest.fixture(scope="session")
def shots():
    folder = os.environ.get("CLEARANCE_SCREENSHOTS") or tempfile.mkdtemp(prefix="clearance-console-shots-")
    os.makedirs(folder, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1440,1000", "--lang=en-GB"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")))
    driver.implicitly_wait(2)
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def kyc(server):
    """A KYC profile whose second version (a changed last name, a passport
    image) waits for review, created through /api/v2/ with the admin key."""
    key = server.admin_key
    user = server.request("POST", "/api/v2/users", key,
                          {"email": "lea@example.com", "firstName": "Léa", "lastName": "Martin"})["data"]["id"]
    fields = {"firstName": "Léa", "lastName": "Martin", "dob": "1990-01-31", "country": "FR",
              "residencyStatus": "resident", "nationalId": "FR123456"}
    first = server.request("POST", f"/api/v2/kyc-profiles/{user}/versions", key, {"initialData": fields})["data"]["id"]
    server.request("POST", f"/api/v2/kyc-profile-versions/{first}/submissions", key, {})
    server.request("POST", f"/api/v2/kyc-profile-versions/{first}/update-requests", key,
                   {"reason": "Your married name is on the passport", "requiredFields": ["lastName", "passport"]})
    second = server.request("POST", f"/api/v2/kyc-profiles/{user}/versions", key, {})["data"]["id"]
    server.request("PATCH", f"/api/v2/kyc-profile-versions/{second}", key, {"lastName": "Martin-Durand"})
    server.request("POST", f"/api/v2/kyc-profile-versions/{second}/documents", key,
                   {"type": "passport", "fileName": "passport.png", "mimeType": "image/png", "fileData": portrait_png(320, 220)})
    server.request("POST", f"/api/v2/kyc-profile-versions/{second}/submissions", key, {})
    return {"user": user, "first": first, "version": second}
