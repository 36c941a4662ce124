"""didit-sdk 0.4.0, unchanged, against Clearance: every call an integration
makes, and every response parsed by the SDK's own models."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from didit import Didit
from didit.errors import DiditAPIError, DiditAuthenticationError, DiditNotFoundError, DiditPermissionError

USER_FEATURES = ["OCR", "LIVENESS", "FACE_MATCH", "AML"]


def client(server, key):
    return Didit(api_key=key, base_url=f"{server.base}/v3", max_retries=0)


@pytest.fixture(scope="module")
def live(server):
    return client(server, server.admin_key)


@pytest.fixture(scope="module")
def sandbox_key(server):
    return server.key("sandbox", roles=["admin"])


@pytest.fixture(scope="module")
def sandbox(server, sandbox_key):
    return client(server, sandbox_key)


@pytest.fixture(scope="module")
def workflow(server):
    body = {"name": "compat", "nodes": [{"feature": f} for f in USER_FEATURES], "settings": {"max_resubmit_attempts": 5}}
    return server.request("POST", "/v3/workflows/", server.admin_key, body)["workflow_id"]


def report_all(server, key, session_id, status="In Review"):
    for node in ["feature_ocr", "feature_liveness", "feature_face_match", "feature_aml"]:
        server.request(
            "PATCH", f"/v3/session/{session_id}/features/{node}/update-status/", key,
            {"new_status": status, "data": {"issuing_state": "ESP", "first_name": "Lucía", "last_name": "Pérez"}},
        )


def test_healthcheck(live):
    health = live.healthcheck()
    assert health.status == "ok"
    assert health.timestamp


def test_create_get_and_decision_parse(live, server, workflow):
    created = live.sessions.create(
        "compat-user-1", workflow_id=workflow, callback="https://example.com/back", callback_method="both",
        metadata={"plan": "gold"}, language="es",
        contact_details={"email": "lucia@example.com", "email_lang": "es"},
        expected_details={"first_name": "Lucía", "last_name": "Pérez", "date_of_birth": "1991-02-03", "id_country": "ESP"},
    )
    assert created.status.value == "Not Started"
    assert created.vendor_data == "compat-user-1"
    assert created.url.endswith(created.session_token)
    fetched = live.sessions.get(created.session_id)
    assert fetched.session_id == created.session_id
    assert fetched.resubmit_info.max_attempts == 5

    report_all(server, server.admin_key, created.session_id)
    decision = live.sessions.get_decision(created.session_id)
    assert decision.status.value == "In Review"
    assert decision.id_verifications[0].node_id == "feature_ocr"
    assert decision.id_verifications[0].first_name == "Lucía"
    assert decision.liveness_checks and decision.face_matches and decision.aml_screenings
    assert decision.nfc_verifications == [] and decision.poa_verifications == []
    assert [r.decision_reason for r in decision.reviews] == [None, None]


@pytest.mark.parametrize("scenario,expected", [
    (None, "Not Started"),
    ("approve", "Approved"),
    ("decline_aml_hit", "Declined"),
    ("review_face_match_borderline", "In Review"),
])
def test_sandbox_scenarios(sandbox, server, scenario, expected):
    created = sandbox.sessions.create(f"sbx-{uuid.uuid4()}", workflow_id=server.default_workflow, sandbox_scenario=scenario)
    assert created.status.value == expected
    decision = sandbox.sessions.get_decision(created.session_id)
    assert decision.status.value == expected
    if scenario:
        assert len(decision.reviews) == 2


def test_live_key_cannot_run_a_scenario(live, server):
    with pytest.raises(DiditAPIError) as error:
        live.sessions.create("x", workflow_id=server.default_workflow, sandbox_scenario="approve")
    assert error.value.status_code == 400


def test_list_with_filters(live, server, workflow):
    marker = f"list-{uuid.uuid4()}"
    ids = [live.sessions.create(f"{marker}-{i}", workflow_id=workflow).session_id for i in range(3)]
    report_all(server, server.admin_key, ids[0])
    now = datetime.now(timezone.utc)
    page = live.sessions.list(search=marker, limit=2)
    assert page.count == 3 and len(page.results) == 2 and page.next
    assert [item.session_id for item in page.results] == [ids[2], ids[1]]
    assert live.sessions.list(status="In Review", search=marker).count == 1
    assert live.sessions.list(vendor_data=f"{marker}-1").results[0].session_id == ids[1]
    assert live.sessions.list(workflow_id=workflow, search=marker, country="ESP").count == 1
    assert live.sessions.list(search="lucía pérez", workflow_id=workflow).count >= 1
    window = live.sessions.list(search=marker, date_from=now - timedelta(minutes=5), date_to=now + timedelta(minutes=5))
    assert window.count == 3
    assert live.sessions.list(search=marker, date_to=now - timedelta(days=1)).count == 0


@pytest.mark.parametrize("target", ["Approved", "Declined", "Resubmitted"])
def test_update_status_to_each_allowed_status(live, server, workflow, target):
    session_id = live.sessions.create(f"upd-{uuid.uuid4()}", workflow_id=workflow).session_id
    report_all(server, server.admin_key, session_id)
    answer = live.sessions.update_status(session_id, target, comment=f"compat {target}")
    assert answer.session_id == session_id
    assert str(getattr(answer.status, "value", answer.status)) == target
    assert live.sessions.get(session_id).status.value == target


def test_resubmit_with_explicit_and_omitted_nodes(live, server, workflow):
    session_id = live.sessions.create(f"resub-{uuid.uuid4()}", workflow_id=workflow).session_id
    report_all(server, server.admin_key, session_id)
    explicit = live.sessions.resubmit(session_id, ["feature_liveness:LIVENESS", {"node_id": "feature_ocr", "feature": "OCR"}])
    assert str(getattr(explicit.status, "value", explicit.status)) == "Resubmitted"
    info = live.sessions.get(session_id).resubmit_info
    assert info.nodes == ["feature_liveness", "feature_ocr"]
    assert info.available_attempts == 4

    report_all(server, server.admin_key, session_id, status="Declined")
    omitted = live.sessions.resubmit(session_id)
    assert str(getattr(omitted.status, "value", omitted.status)) == "Resubmitted"
    assert sorted(live.sessions.get(session_id).resubmit_info.nodes) == sorted(
        ["feature_ocr", "feature_liveness", "feature_face_match", "feature_aml"])


def test_error_classes(server, live, workflow):
    with pytest.raises(DiditAuthenticationError):
        client(server, "clr_live_0000000000000000_" + "A" * 43).sessions.list()
    reader = client(server, server.key("live", privileges=["read:sessions"]))
    with pytest.raises(DiditPermissionError):
        reader.sessions.create("x", workflow_id=workflow)
    with pytest.raises(DiditNotFoundError):
        live.sessions.get(str(uuid.uuid4()))
    session_id = live.sessions.create(f"err-{uuid.uuid4()}", workflow_id=workflow).session_id
    with pytest.raises(DiditAPIError) as error:
        live.sessions.update_status(session_id, "Approved")  # still Not Started
    assert error.value.status_code == 400
    assert error.value.error_code == "VALIDATION_ERROR"
    with pytest.raises(DiditAPIError) as error:
        live.sessions.create("x", workflow_id=str(uuid.uuid4()))
    assert error.value.status_code == 400
