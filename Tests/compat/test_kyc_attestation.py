"""A KYC attestation from the real server, verified with PyJWT (a JOSE
library this project did not write) against /.well-known/jwks.json."""
import json
import urllib.error
import urllib.request

import jwt
import pytest

PERSON = {"firstName": "Ada", "lastName": "Lovelace", "dob": "1990-12-10", "country": "GB",
          "residencyStatus": "resident", "nationalId": "COMPAT-1"}


def call(server, method, path, key, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(server.base + path, data=data, method=method)
    if key:
        req.add_header("authorization", f"Bearer {key}")
    req.add_header("content-type", "application/json")
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read())


def approved_user(server, key, national_id):
    user = call(server, "POST", "/api/v2/users", key, {"email": "ada@example.com"})["data"]["id"]
    version = call(server, "POST", f"/api/v2/kyc-profiles/{user}/versions", key,
                   {"initialData": {**PERSON, "nationalId": national_id}})["data"]["id"]
    call(server, "POST", f"/api/v2/kyc-profile-versions/{version}/submissions", key, {})
    call(server, "POST", f"/api/v2/kyc-profile-versions/{version}/approvals", key, {"reviewNotes": "ok"})
    return user, version


def test_attestation_verifies_with_pyjwt_against_the_published_jwks(server):
    key = server.key(roles=["identityManager", "claimIssuer"])
    user, version = approved_user(server, key, "COMPAT-1")
    content_hash = call(server, "GET", f"/api/v2/kyc-profiles/{user}", key)["data"]["approvedVersion"]["contentHash"]
    token = call(server, "POST", f"/api/v2/kyc-profiles/{user}/attestations", key)["data"]["token"]

    jwks = json.loads(urllib.request.urlopen(server.base + "/.well-known/jwks.json").read())
    kid = jwt.get_unverified_header(token)["kid"]
    signing_key = jwt.PyJWKSet.from_dict(jwks)[kid]
    claims = jwt.decode(token, key=signing_key.key, algorithms=["EdDSA"])
    assert claims["sub"] == user and claims["versionId"] == version
    assert claims["claim"] == content_hash and claims["topic"] == "knowYourCustomer"
    assert claims["exp"] > claims["iat"]

    # A token with one changed claim does not verify.
    header, payload, signature = token.split(".")
    forged = jwt.utils.base64url_encode(json.dumps({**claims, "sub": "usr_someoneelse"}).encode()).decode()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(f"{header}.{forged}.{signature}", key=signing_key.key, algorithms=["EdDSA"])


def test_a_superseded_approval_revokes_its_attestation(server):
    key = server.key(roles=["identityManager", "claimIssuer"])
    user, _ = approved_user(server, key, "COMPAT-2")
    issued = call(server, "POST", f"/api/v2/kyc-profiles/{user}/attestations", key)["data"]
    status_url = issued["statusUrl"].replace("http://127.0.0.1:%d" % server.port, server.base)
    assert call(server, "GET", status_url[len(server.base):], None)["status"] == "active"
    version = call(server, "POST", f"/api/v2/kyc-profiles/{user}/versions", key,
                   {"initialData": {**PERSON, "nationalId": "COMPAT-2"}})["data"]["id"]
    call(server, "POST", f"/api/v2/kyc-profile-versions/{version}/submissions", key, {})
    call(server, "POST", f"/api/v2/kyc-profile-versions/{version}/approvals", key, {})
    assert call(server, "GET", f"/kyc-attestations/{issued['id']}/status", None)["status"] == "revoked"


def test_errors_use_the_dalp_envelope(server):
    key = server.key(roles=["claimIssuer"])
    with pytest.raises(urllib.error.HTTPError) as refused:
        call(server, "POST", "/api/v2/kyc-profile-versions/not-a-version/approvals", key, {})
    body = json.loads(refused.value.read())
    assert refused.value.code == 404 and body["data"]["id"] == "DALP-0419" and body["status"] == 404
