"""The 24-hour rotation window, checked with the libraries integrators use.

The Swift suite (WebhookDeliveryTests, on an injected clock) captures real
deliveries 23 h 59 min after a rotation and again just past 24 h, with both
secrets, into CLEARANCE_WEBHOOK_CAPTURE_DIR; scripts/test runs it first and
points this test at the same folder."""
import base64
import glob
import json
import os
from datetime import datetime, timezone

import pytest
from didit.webhooks import verify_webhook_signature
from standardwebhooks import Webhook

CAPTURE_DIR = os.environ.get("CLEARANCE_WEBHOOK_CAPTURE_DIR", "")
CAPTURES = sorted(glob.glob(os.path.join(CAPTURE_DIR, "rotation-*.json"))) if CAPTURE_DIR else []


def standard_headers(headers):
    return {k: headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}


# The deliveries are replayed here minutes after they were sent, so the
# libraries' freshness checks (5 min) are set aside: didit-sdk's with its own
# flag, standardwebhooks' by signing with the library and comparing, which is
# what its verify does after the timestamp check. Freshness itself is checked
# on live deliveries in test_webhooks.py.
def didit_verifies(body, headers, secret):
    return verify_webhook_signature(body, headers, secret, verify_freshness=False)


def standard_verifies(secret, body, headers):
    sent = datetime.fromtimestamp(int(headers["webhook-timestamp"]), tz=timezone.utc)
    expected = Webhook(secret).sign(headers["webhook-id"], sent, body.decode())
    return expected in headers["webhook-signature"].split(" ")


@pytest.mark.skipif(not CAPTURES, reason="run through scripts/test, which captures the deliveries first")
@pytest.mark.parametrize("path", CAPTURES)
def test_old_and_new_secrets_verify_for_24_hours_then_only_the_new(path):
    capture = json.load(open(path))
    old, new = capture["old"], capture["new"]
    assert len(capture["during"]) == 3 and len(capture["after"]) == 3
    for item in capture["during"]:
        body, headers = base64.b64decode(item["body"]), item["headers"]
        assert didit_verifies(body, headers, new["shared"])
        previous = {"x-signature": headers["x-signature-previous"], "x-signature-v2": headers["x-signature-v2-previous"],
                    "x-timestamp": headers["x-timestamp"]}
        assert didit_verifies(body, previous, old["shared"])
        assert standard_verifies(new["whsec"], body, headers)
        assert standard_verifies(old["whsec"], body, headers)
    for item in capture["after"]:
        body, headers = base64.b64decode(item["body"]), item["headers"]
        assert didit_verifies(body, headers, new["shared"])
        assert "x-signature-previous" not in headers
        assert not didit_verifies(body, headers, old["shared"])
        assert standard_verifies(new["whsec"], body, headers)
        assert not standard_verifies(old["whsec"], body, headers), "the old secret must stop verifying after 24 h"
