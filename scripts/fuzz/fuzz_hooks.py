"""schemathesis hooks for scripts/fuzz/run.sh (loaded through SCHEMATHESIS_HOOKS).

Idempotency-Key: the document allows any 1–255 character key, and the server
answers 422 when a key comes back with a different request (access.md). A
fuzzer drawing keys from that space sends "0" again and again with other
bodies, so a schema-valid request would be refused for a reason no schema
can state (keys are meant to be unique per request). For schema-valid cases
the drawn key gets a unique suffix, within the documented length; a case
that is meant to break the header's schema is sent as drawn.
"""
import uuid

import schemathesis
from schemathesis import GenerationMode


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers or {}
    key = headers.get("Idempotency-Key")
    meta = case.meta
    if not isinstance(key, str) or meta is None or meta.generation.mode != GenerationMode.POSITIVE:
        return
    suffix = "-" + uuid.uuid4().hex
    headers["Idempotency-Key"] = key[: 255 - len(suffix)] + suffix
