"""Webhooks from a real `clearance serve` to a real HTTP receiver on
loopback, every delivery checked with the verifiers integrators use:
didit-sdk's verify_webhook_signature and standardwebhooks' Webhook.verify."""
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from didit.webhooks import verify_webhook_signature
from standardwebhooks import Webhook


class Receiver:
    def __init__(self, fail_first=0):
        self.received = []
        self.fail_first = fail_first
        self.calls = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.calls += 1
                if receiver.calls <= receiver.fail_first:
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.received.append((dict(self.headers.items()), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count, seconds=10):
        deadline = time.time() + seconds
        while time.time() < deadline and len(self.received) < count:
            time.sleep(0.02)
        return self.received

    def close(self):
        # Stop and close the socket: a later delivery to this port is refused at once.
        self.server.shutdown()
        self.server.server_close()


def make_destination(server, key, receiver, events=("status.updated",)):
    return server.request("POST", "/v3/webhook/destinations/", key,
                          {"label": "test", "url": receiver.url, "subscribed_events": list(events)})


def verify_both(headers, body, destination, secret_key="secret_shared_key", std_key="standard_webhooks_secret"):
    lower = {k.lower(): v for k, v in headers.items()}
    assert verify_webhook_signature(body, lower, destination[secret_key]), "didit-sdk refused the signature"
    Webhook(destination[std_key]).verify(body, {k: lower[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")})


@pytest.fixture
def sandbox_key(server):
    return server.key("sandbox", roles=["admin"])


def test_every_delivery_verifies_with_both_libraries_in_sequence_order(server, sandbox_key):
    receiver = Receiver()
    try:
        destination = make_destination(server, sandbox_key, receiver)
        session = server.request("POST", "/v3/session/", sandbox_key, {
            "workflow_id": server.default_workflow, "sandbox_scenario": "approve",
            "metadata": {"note": "Grüße, 李雷 — ünïcode"},
            "expected_details": {"first_name": "Zoë", "last_name": "Šťastná"},
        })
        received = receiver.wait_for(2)
        assert len(received) == 2
        bodies = [json.loads(body) for _, body in received]
        bodies.sort(key=lambda b: b["sequence"])
        assert [b["status"] for b in bodies] == ["In Progress", "Approved"]
        assert all(b["session_id"] == session["session_id"] for b in bodies)
        assert bodies[1]["decision"]["expected_details"]["first_name"] == "Zoë"
        assert len({b["event_id"] for b in bodies}) == 2
        for headers, body in received:
            assert "Zoë".encode() in body or b"In Progress" in body
            verify_both(headers, body, destination)
            lower = {k.lower(): v for k, v in headers.items()}
            assert lower["webhook-id"] == json.loads(body)["event_id"]
            assert lower["x-timestamp"] == str(json.loads(body)["timestamp"])
            assert "x-signature-simple" in lower
            assert "x-signature-previous" not in lower
    finally:
        receiver.close()


def test_during_rotation_old_and_new_secrets_both_verify(server, sandbox_key):
    receiver = Receiver()
    try:
        old = make_destination(server, sandbox_key, receiver)
        new = server.request("PATCH", f"/v3/webhook/destinations/{old['uuid']}/", sandbox_key, {"rotate_secret_key": True})
        assert new["secret_shared_key"] != old["secret_shared_key"]
        server.request("POST", "/v3/session/", sandbox_key,
                       {"workflow_id": server.default_workflow, "sandbox_scenario": "decline_aml_hit"})
        received = receiver.wait_for(2)
        assert len(received) == 2
        for headers, body in received:
            lower = {k.lower(): v for k, v in headers.items()}
            verify_both(headers, body, new)
            # A receiver still on the old secret checks the -Previous headers.
            previous = {"x-signature": lower["x-signature-previous"], "x-signature-v2": lower["x-signature-v2-previous"],
                        "x-timestamp": lower["x-timestamp"]}
            assert verify_webhook_signature(body, previous, old["secret_shared_key"])
            assert len(lower["webhook-signature"].split(" ")) == 2
            Webhook(old["standard_webhooks_secret"]).verify(body, {k: lower[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")})
    finally:
        receiver.close()


def test_a_receiver_that_fails_at_first_gets_everything_once_retries_come_due(server, sandbox_key):
    receiver = Receiver(fail_first=2)
    try:
        destination = make_destination(server, sandbox_key, receiver)
        server.request("POST", "/v3/session/", sandbox_key,
                       {"workflow_id": server.default_workflow, "sandbox_scenario": "review_aml_possible_match"})
        received = receiver.wait_for(2, seconds=15)
        assert len(received) == 2
        assert receiver.calls == 4
        for headers, body in received:
            verify_both(headers, body, destination)
    finally:
        receiver.close()


def test_a_receiver_that_never_answers_does_not_hold_back_the_others(server, sandbox_key):
    import socket
    black_hole = socket.socket()
    black_hole.bind(("127.0.0.1", 0))
    black_hole.listen(16)  # accepts connections in the kernel, never answers
    receiver = Receiver()
    try:
        server.request("POST", "/v3/webhook/destinations/", sandbox_key, {
            "url": f"http://127.0.0.1:{black_hole.getsockname()[1]}/hang", "subscribed_events": ["status.updated"]})
        destination = make_destination(server, sandbox_key, receiver)
        started = time.time()
        server.request("POST", "/v3/session/", sandbox_key,
                       {"workflow_id": server.default_workflow, "sandbox_scenario": "approve"})
        received = receiver.wait_for(2, seconds=10)
        assert len(received) == 2
        assert time.time() - started < 5, "deliveries waited behind a hanging receiver"
        for headers, body in received:
            verify_both(headers, body, destination)
    finally:
        receiver.close()
        black_hole.close()


def test_the_delivery_log_shows_attempts_and_resend_sends_again(server, sandbox_key):
    receiver = Receiver(fail_first=1)
    try:
        destination = make_destination(server, sandbox_key, receiver)
        session = server.request("POST", "/v3/session/", sandbox_key,
                                 {"workflow_id": server.default_workflow, "sandbox_scenario": "approve"})
        assert len(receiver.wait_for(2)) == 2
        uuid_ = destination["uuid"]
        # The worker settles a delivery just after the receiver answers: wait for that.
        deadline = time.time() + 5
        while True:
            log = server.request("GET", f"/v3/webhook/destinations/{uuid_}/deliveries/", sandbox_key)
            if all(item["status"] == "delivered" for item in log["results"]) or time.time() > deadline:
                break
            time.sleep(0.05)
        assert log["count"] == 2
        assert all(item["status"] == "delivered" and item["response_status"] == 200 for item in log["results"])
        assert sorted(item["attempts"] for item in log["results"]) == [1, 2], "one of the two failed once first"
        retried = next(item for item in log["results"] if item["attempts"] == 2)
        detail = server.request("GET", f"/v3/webhook/destinations/{uuid_}/deliveries/{retried['uuid']}/", sandbox_key)
        assert [a["response_status"] for a in detail["attempt_log"]] == [500, 200]
        body = detail["request"]["body"].encode()
        verify_both(detail["request"]["headers"], body, destination)
        by_session = server.request("GET", f"/v3/session/{session['session_id']}/webhooks/?limit=100", sandbox_key)
        # Every destination of the environment is in it (earlier tests' too); ours twice.
        assert [item["destination_uuid"] for item in by_session["results"]].count(uuid_) == 2
        assert all(item["session_id"] == session["session_id"] for item in by_session["results"])
        summary = server.request("GET", f"/v3/webhook/destinations/{uuid_}/", sandbox_key)["summary"]
        assert summary["total_deliveries"] == 2 and summary["failed_deliveries"] == 0
        assert summary["last_delivery_at"] and summary["avg_response_time_ms"] is not None
        listed = server.request("GET", "/v3/webhook/destinations/?limit=100", sandbox_key)["results"]
        ours = next(item for item in listed if item["uuid"] == uuid_)
        assert ours["summary"]["total_deliveries"] == 2 and "secret_shared_key" not in ours

        resent = server.request("POST", f"/v3/webhook/destinations/{uuid_}/deliveries/{retried['uuid']}/resend/", sandbox_key, {})
        assert resent["status"] in ("pending", "in_flight", "delivered"), "queued again (the worker may be on it already)"
        received = receiver.wait_for(3)
        assert len(received) == 3
        assert json.loads(received[2][1])["event_id"] == retried["event_id"], "the same event, again: receivers de-duplicate by event_id"
    finally:
        receiver.close()


def test_a_test_send_reaches_only_its_destination_and_verifies(server, sandbox_key):
    receiver = Receiver()
    other = Receiver()
    try:
        destination = make_destination(server, sandbox_key, receiver, events=("data.updated",))
        make_destination(server, sandbox_key, other)
        queued = server.request("POST", f"/v3/webhook/destinations/{destination['uuid']}/test/", sandbox_key, {})
        # The answer shows the delivery as it is once queued: the worker is
        # woken at commit, so it may already be on its way.
        assert queued["status"] in ("pending", "in_flight", "delivered")
        received = receiver.wait_for(1)
        assert len(received) == 1
        headers, body = received[0]
        assert json.loads(body)["test"] is True
        verify_both(headers, body, destination)
        time.sleep(0.3)
        assert other.received == []
    finally:
        receiver.close()
        other.close()
