"""Emails from a real `clearance serve` to a real SMTP server (aiosmtpd) on
loopback: plain, STARTTLS with AUTH PLAIN or LOGIN, implicit TLS (smtps),
a recipient refused with 550, and a server that is down at first. Every
message is parsed with Python's `email` package."""
import email
import json
import os
import pathlib
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from email import policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from conftest import Server

TEMPLATES = pathlib.Path(__file__).resolve().parents[2] / "Sources/ClearanceServer/Emails/EmailTemplates"
ORG = "Acme Bank — KYC"


def phrase(language, key):
    return json.loads((TEMPLATES / f"{language}.json").read_text(encoding="utf-8"))[key]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """An aiosmtpd handler: keeps what it receives, refuses reject*@ with 550."""

    def __init__(self):
        self.messages = []
        self.rcpt_attempts = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            self.rcpt_attempts.append(address)
        if address.startswith("reject"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append({
                "mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                "message": email.message_from_bytes(envelope.content, policy=policy.default),
                "raw": envelope.content, "tls": session.ssl is not None,
                "login": getattr(session, "auth_data", None),
            })
        return "250 Message accepted for delivery"

    def wait_for(self, count, seconds=15):
        deadline = time.time() + seconds
        while time.time() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        return list(self.messages)

    def to(self, address):
        return [m for m in self.messages if address in m["rcpt_tos"]]


class Credentials:
    def __init__(self, user, password):
        self.user, self.password = user.encode(), password.encode()
        self.mechanisms = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        self.mechanisms.append(mechanism)
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == self.user and auth_data.password == self.password
        return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def certificate():
    """A throwaway self-signed certificate for 127.0.0.1."""
    directory = tempfile.mkdtemp(prefix="clearance-smtp-tls-")
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run([
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ], check=True, capture_output=True)
    return cert, key


def server_context(certificate):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def own_database():
    """Each server here gets a database of its own (a shared one would let
    one server's email worker send another's mail, and only the first
    server of a database prints an admin key): a new PostgreSQL database
    when the suite runs on PostgreSQL, else a new SQLite file."""
    url = os.environ.get("CLEARANCE_DATABASE_URL", "")
    admin = os.environ.get("CLEARANCE_TEST_POSTGRES_URL")
    bindir = os.environ.get("CLEARANCE_PG_BINDIR")
    if url.startswith("postgres") and admin and bindir:
        name = "clearance_email_%d_%d" % (os.getpid(), int(time.time() * 1e6))
        subprocess.run([os.path.join(bindir, "psql"), admin, "-qc", f"CREATE DATABASE {name}"], check=True)
        return admin.rsplit("/", 1)[0] + "/" + name
    return "sqlite://" + os.path.join(tempfile.mkdtemp(prefix="clearance-email-db-"), "clearance.db")


def start_clearance(smtp_url=None, **extra):
    env = {"CLEARANCE_EMAIL_FROM": "kyc@acme.example", "CLEARANCE_EMAIL_FROM_NAME": ORG,
           "CLEARANCE_EMAIL_RETRY_SCALE": "0.001", "CLEARANCE_DATABASE_URL": own_database()}
    if smtp_url:
        env["CLEARANCE_SMTP_URL"] = smtp_url
    env.update(extra)
    return Server(env)


def create(server, key, scenario, **details):
    body = {"workflow_id": server.default_workflow, "sandbox_scenario": scenario,
            "expected_details": {"first_name": "Zoë"}}
    body.update(details)
    return server.request("POST", "/v3/session/", key, body)


def request(server, method, path, key, body):
    try:
        return 200, server.request(method, path, key, body)
    except Exception as error:  # urllib.error.HTTPError
        return error.code, json.loads(error.read() or b"null")


def parts(message):
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


@pytest.fixture(scope="module")
def plain_smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    server = start_clearance(f"smtp://127.0.0.1:{controller.port}?starttls=never")
    yield server, inbox
    server.stop()
    controller.stop()


def test_each_session_kind_arrives_in_its_language_with_both_parts(plain_smtp):
    server, inbox = plain_smtp
    key = server.key("sandbox", roles=["admin"])
    # Automatic decision: asked for with send_notification_emails.
    approved = create(server, key, "approve", contact_details={
        "email": "auto@example.com", "send_notification_emails": True, "email_lang": "de"})
    assert approved["status"] == "Approved"
    # Manual decision in Spanish and a resubmission in Arabic.
    declined = create(server, key, "decline_face_match_low_similarity", contact_details={"email": "manual@example.com"})
    assert declined["status"] == "Declined"
    path = f"/v3/session/{declined['session_id']}/update-status/"
    server.request("PATCH", path, key, {"new_status": "Approved", "send_email": True, "email_language": "es"})
    server.request("PATCH", path, key, {"new_status": "Declined", "send_email": True, "email_language": "fr",
                                        "email_address": "given@example.com"})
    preview = server.request("POST", f"/v3/session/{declined['session_id']}/resubmission-preview/", key,
                             {"email_language": "ar", "nodes_to_resubmit": ["feature_liveness:LIVENESS"]})
    assert preview["will_be_sent"] and preview["recipient"] == "manual@example.com"
    server.request("PATCH", path, key, {"new_status": "Resubmitted", "send_email": True, "email_language": "ar",
                                        "nodes_to_resubmit": ["feature_liveness:LIVENESS"],
                                        "email_preview_token": preview["preview_token"]})
    received = inbox.wait_for(4)
    assert len(received) == 4, received

    expectations = [
        ("auto@example.com", "de", "decision_approved", None),
        ("manual@example.com", "es", "decision_approved", None),
        ("given@example.com", "fr", "decision_declined", None),
        ("manual@example.com", "ar", "resubmission_requested", declined["url"]),
    ]
    for address, language, kind, link in expectations:
        matching = [m for m in inbox.to(address) if m["message"]["Content-Language"] == language]
        assert len(matching) == 1, (address, language)
        envelope = matching[0]
        message = envelope["message"]
        assert envelope["mail_from"] == "kyc@acme.example"
        assert message["From"].addresses[0].display_name == ORG
        assert message["From"].addresses[0].addr_spec == "kyc@acme.example"
        assert message["To"].addresses[0].addr_spec == address
        assert message["Subject"] == phrase(language, f"{kind}.subject")
        assert message["Message-ID"].startswith("<") and message["Message-ID"].endswith("@acme.example>")
        assert message["Date"].datetime is not None
        assert message.get_content_type() == "multipart/alternative"
        text, html = parts(message)
        assert "Zoë" in text and "Zoë" in html
        assert ORG in text
        rtl = "rtl" if language == "ar" else "ltr"
        assert f'<html lang="{language}" dir="{rtl}">' in html
        if link:
            assert link in text and f'href="{link}"' in html
            # The reason for the resubmission: the one step chosen, not the others.
            assert phrase(language, "step.selfie") in text and phrase(language, "step.selfie") in html
            assert phrase(language, "step.document") not in text
        else:
            assert "/verify/" not in text
    # Nothing else: the previews sent nothing, and no address got two.
    assert len(inbox.messages) == 4


def test_a_refused_recipient_fails_once_without_retry(plain_smtp):
    server, inbox = plain_smtp
    key = server.key("sandbox", roles=["admin"])
    create(server, key, "approve", contact_details={"email": "reject-me@example.com", "send_notification_emails": True})
    create(server, key, "approve", contact_details={"email": "after@example.com", "send_notification_emails": True})
    deadline = time.time() + 15
    while time.time() < deadline and not inbox.to("after@example.com"):
        time.sleep(0.05)
    assert inbox.to("after@example.com")
    # The retry schedule (scaled to milliseconds) would have tried again by now.
    time.sleep(1.5)
    assert inbox.rcpt_attempts.count("reject-me@example.com") == 1
    assert not inbox.to("reject-me@example.com")


def test_bad_email_input_is_400_naming_the_field(plain_smtp):
    server, inbox = plain_smtp
    key = server.key("sandbox", roles=["admin"])
    session = create(server, key, "decline_face_match_low_similarity")
    path = f"/v3/session/{session['session_id']}/update-status/"
    before = len(inbox.messages)
    for body, field in [
        ({"new_status": "Approved", "send_email": True, "email_address": "a@b.com", "email_language": "xx"}, "email_language"),
        ({"new_status": "Approved", "send_email": True}, "email_address"),
        ({"new_status": "Approved", "send_email": True, "email_address": "zoe@example.com\r\nBcc: eve@example.com"}, "email_address"),
        ({"new_status": "Approved", "send_email": True, "email_address": "not-an-address"}, "email_address"),
    ]:
        status, answer = request(server, "PATCH", path, key, body)
        assert status == 400, answer
        assert field in answer["errors"], answer
    status, answer = request(server, "POST", "/v3/session/", key, {
        "workflow_id": server.default_workflow, "contact_details": {"email": "a@b.com", "email_lang": "tlh"}})
    assert status == 400 and "contact_details.email_lang" in answer["errors"]
    time.sleep(0.5)
    assert len(inbox.messages) == before
    assert server.request("GET", f"/v3/session/{session['session_id']}/", key)["status"] == "Declined"


def test_a_server_that_is_down_is_retried_until_it_is_up():
    port = free_port()
    server = start_clearance(f"smtp://127.0.0.1:{port}?starttls=never")
    controller = None
    try:
        key = server.key("sandbox", roles=["admin"])
        create(server, key, "approve", contact_details={"email": "patient@example.com", "send_notification_emails": True})
        time.sleep(0.4)  # several attempts meet a refused connection
        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        received = inbox.wait_for(1, seconds=20)
        assert len(received) == 1
        assert received[0]["rcpt_tos"] == ["patient@example.com"]
    finally:
        server.stop()
        if controller:
            controller.stop()


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_starttls_with_auth_and_a_trusted_ca(certificate, mechanism):
    inbox = Inbox()
    credentials = Credentials("mailer", "s3cret:with@odd/chars")
    exclude = ["PLAIN"] if mechanism == "LOGIN" else ["LOGIN"]
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), tls_context=server_context(certificate),
                            require_starttls=True, auth_required=True, authenticator=credentials,
                            auth_exclude_mechanism=exclude)
    controller.start()
    server = start_clearance(f"smtp://mailer:s3cret%3Awith%40odd%2Fchars@127.0.0.1:{controller.port}",
                             CLEARANCE_SMTP_CA_FILE=certificate[0])
    try:
        key = server.key("sandbox", roles=["admin"])
        create(server, key, "approve", contact_details={"email": "tls@example.com", "send_notification_emails": True,
                                                         "email_lang": "ja"})
        received = inbox.wait_for(1)
        assert len(received) == 1
        assert received[0]["tls"], "the message went over TLS"
        assert credentials.mechanisms == [mechanism]
        message = received[0]["message"]
        assert message["Subject"] == phrase("ja", "decision_approved.subject")
        text, _ = parts(message)
        assert text.startswith("Zoë 様")
    finally:
        server.stop()
        controller.stop()


def test_an_untrusted_certificate_is_refused(certificate):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), tls_context=server_context(certificate),
                            require_starttls=True)
    controller.start()
    server = start_clearance(f"smtp://127.0.0.1:{controller.port}")  # no CA file: verification must fail
    try:
        key = server.key("sandbox", roles=["admin"])
        create(server, key, "approve", contact_details={"email": "mitm@example.com", "send_notification_emails": True})
        time.sleep(2)
        assert inbox.messages == []
    finally:
        server.stop()
        controller.stop()


def test_smtps_implicit_tls(certificate):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), ssl_context=server_context(certificate))
    controller.start()
    server = start_clearance(f"smtps://127.0.0.1:{controller.port}", CLEARANCE_SMTP_CA_FILE=certificate[0])
    try:
        key = server.key("sandbox", roles=["admin"])
        create(server, key, "approve", contact_details={"email": "smtps@example.com", "send_notification_emails": True,
                                                         "email_lang": "he"})
        received = inbox.wait_for(1)
        assert len(received) == 1
        message = received[0]["message"]
        assert message["Subject"] == phrase("he", "decision_approved.subject")
        _, html = parts(message)
        assert '<html lang="he" dir="rtl">' in html
    finally:
        server.stop()
        controller.stop()


def test_without_smtp_the_default_writes_eml_files():
    server = start_clearance()
    try:
        key = server.key("sandbox", roles=["admin"])
        create(server, key, "approve", contact_details={"email": "files@example.com", "send_notification_emails": True,
                                                         "email_lang": "zh-TW"})
        directory = pathlib.Path(server.data_dir) / "emails"
        deadline = time.time() + 15
        while time.time() < deadline and not list(directory.glob("*.eml")):
            time.sleep(0.05)
        files = list(directory.glob("*.eml"))
        assert len(files) == 1
        message = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
        assert message["To"].addresses[0].addr_spec == "files@example.com"
        assert message["Subject"] == phrase("zh-TW", "decision_approved.subject")
        assert oct(files[0].stat().st_mode & 0o777) == "0o600"
    finally:
        server.stop()
