"""Property test against the real server: whatever arrives, supportd answers like AWS.

For every operation, model-derived inputs (valid, and mutated: wrong JSON types,
oversize values, missing required members, junk JSON, random bytes) go over raw HTTP to
a real `supportd serve`. Whatever the input: never a 5xx; always a JSON body that is
either a 200 fitting the output shape or an error AWS could give for that operation,
with the status AWS documents for it; always a request id; and an error (or a read)
leaves the account's cases exactly as they were. Each example runs in an account of
its own, seeded with one case.

Errors are judged by what AWS says, not by supportd's own error table: the operation's
errors in botocore's Support model, AWS's documented common errors with their
documented statuses, and the unmodelled errors the real Support service is known to
answer (see AWS_COMMON_ERRORS and SUPPORT_UNMODELLED below).
"""

from __future__ import annotations

import itertools
import json
import string
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.support.server import ServerProcess
from tests.unit.model_checks import serialize, shape_problems
from tests.unit.model_strategies import (
    OPERATIONS,
    RAW_MODEL,
    SHAPES,
    input_for,
    input_shape,
    output_shape,
)

TARGET_PREFIX = "AWSSupport_20130415"
JSON_11 = "application/x-amz-json-1.1"
# Residue 5 modulo 7919 keeps these apart from the accounts of the `account` fixture
# (residue 0) and of tests.compat.helpers (residue 1).
_accounts = itertools.count(100_000_000_005, 7919)
# Operations that only read: even their successes must change nothing.
READS = {name for name in OPERATIONS if name.startswith(("Describe", "Get"))}
# Trusted Advisor checks that can be refreshed (so refreshes may succeed).
CHECK_IDS = ["DqdJqYeRm5", "Z4AUBRNSmz", "Pfx0RwqBli"]

# --- which errors AWS can answer, with which status ----------------------------------

# AWS's "Common Errors" of its JSON APIs, code -> the HTTP status AWS documents (the
# list every current AWS API reference carries, e.g.
# https://docs.aws.amazon.com/awsconsolehelpdocs/latest/gsg/common-errors.html).
AWS_COMMON_ERRORS = {
    "AccessDeniedException": 403,
    "ExpiredTokenException": 403,
    "IncompleteSignature": 403,
    "InternalFailure": 500,
    "MalformedHttpRequestException": 400,
    "NotAuthorized": 401,
    "OptInRequired": 403,
    "RequestAbortedException": 400,
    "RequestEntityTooLargeException": 413,
    "RequestExpired": 400,
    "RequestTimeoutException": 408,
    "ServiceUnavailable": 503,
    "ThrottlingException": 400,
    "UnrecognizedClientException": 403,
    "UnknownOperationException": 404,
    "ValidationError": 400,
}
# What the real Support service answers beyond its model, as its live answers (AWS's
# SDK smoke tests) show: the AWS JSON protocol's validation and deserialisation errors
# and the service's own "Invalid ... code" and plan errors, all client errors (400).
SUPPORT_UNMODELLED = {
    "ValidationException": 400,
    "SerializationException": 400,
    "InvalidParameterValueException": 400,
    "SubscriptionRequiredException": 400,
}


# supportd's departures from an operation's modelled errors: each a choice written in
# docs/compatibility.md, listed here one by one so that nothing else passes unseen.
DOCUMENTED_DEPARTURES: dict[str, dict[str, int]] = {
    # An unknown id in `uploadIds`, a member the model gained without the error
    # (docs/compatibility.md, "Attaching files").
    "CreateCase": {"UploadIdNotFound": 400},
    "AddCommunicationToCase": {"UploadIdNotFound": 400},
    # The per-account cap on open uploads (docs/compatibility.md, "Large-file uploads").
    "GetAttachmentUploadLinks": {"AttachmentLimitExceeded": 400},
}


def modelled_errors(operation: str) -> dict[str, int]:
    """The operation's errors in botocore's model, with their status: the model's
    httpStatusCode if it gives one, else 500 for a fault and 400 for a client error
    (the AWS JSON protocol's rule)."""
    errors = {}
    for ref in RAW_MODEL["operations"][operation].get("errors", []):
        shape = SHAPES[ref["shape"]]
        status = shape.get("error", {}).get("httpStatusCode")
        errors[ref["shape"]] = status or (500 if shape.get("fault") else 400)
    return errors


def allowed_errors(operation: str) -> dict[str, int]:
    return {
        **AWS_COMMON_ERRORS,
        **SUPPORT_UNMODELLED,
        **DOCUMENTED_DEPARTURES.get(operation, {}),
        **modelled_errors(operation),
    }


def authorization(account: str) -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/support/aws4_request, "
        "SignedHeaders=host, Signature=00"
    )


@pytest.fixture(scope="module")
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


def post(client: httpx.Client, account: str, operation: str, body: bytes) -> httpx.Response:
    return client.post(
        "/",
        content=body,
        headers={
            "Content-Type": JSON_11,
            "X-Amz-Target": f"{TARGET_PREFIX}.{operation}",
            "Authorization": authorization(account),
        },
    )


def call(client: httpx.Client, account: str, operation: str, params: dict[str, Any]) -> Any:
    response = post(client, account, operation, json.dumps(params).encode())
    assert response.status_code == 200, response.text
    return response.json()


def snapshot(client: httpx.Client, account: str) -> Any:
    """Everything the account can see of its cases (the newest communications included)."""
    return call(client, account, "DescribeCases", {"includeResolvedCases": True, "maxResults": 100})


# --- what gets sent ----------------------------------------------------------------

# The example's seeded case: its caseId and displayId.
Seed = tuple[str, str]

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
JSON_TYPE_OF = {
    "structure": dict,
    "list": list,
    "string": str,
    "blob": str,
    "boolean": bool,
    "integer": int,
    "long": int,
    "double": float,
}


def clean(case_id: str, display_id: str) -> dict[str, st.SearchStrategy[Any] | None]:
    """Only values that name real things (and no dry runs), so requests can succeed."""
    return {
        "caseId": st.just(case_id),
        "caseIdList": st.lists(st.just(case_id), max_size=2),
        "displayId": st.just(display_id),
        "serviceCode": st.just("general-info"),
        "categoryCode": st.sampled_from(["using-aws", "charges"]),
        "severityCode": st.sampled_from(["low", "normal", "high", "urgent", "critical"]),
        "language": st.sampled_from(["en", "ja", "zh"]),
        "issueType": st.sampled_from(["technical", "customer-service"]),
        "ccEmailAddresses": st.lists(st.sampled_from(["a@example.com", "b@example.org"])),
        "afterTime": st.sampled_from(["2000-01-01", "2020-03-23T21:31:47.774Z"]),
        "beforeTime": st.sampled_from(["2999-01-01", "2999-03-23T21:31:47+02:00"]),
        "maxResults": st.integers(10, 100),
        "communicationBody": st.text(min_size=1, max_size=200),
        "checkId": st.sampled_from(CHECK_IDS),
        "checkIds": st.lists(st.sampled_from(CHECK_IDS), min_size=1, max_size=3),
        "nextToken": None,
        "attachmentSetId": None,
        "uploadIds": None,
        "dryRun": None,
    }


def realistic(case_id: str, display_id: str) -> dict[str, st.SearchStrategy[Any] | None]:
    """Values that name real things some of the time, and junk the rest."""
    text = st.text(max_size=30)

    def mostly(good: list[str], bad: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(*[st.sampled_from(good)] * 3, bad)

    return {
        "caseId": mostly([case_id], st.just(case_id.replace("-", "_")) | text),
        "caseIdList": st.lists(mostly([case_id], text), max_size=3),
        "displayId": mostly([display_id], st.sampled_from(["0", "²", "9" * 20]) | text),
        "serviceCode": mostly(["general-info"], st.just("no-such-service")),
        "categoryCode": mostly(["using-aws"], st.sampled_from(["apis", "no-such-category"])),
        "severityCode": mostly(["low", "normal", "high", "urgent", "critical"], st.just("x")),
        "language": mostly(["en", "ja", "zh"], st.just("xx") | text),
        "issueType": mostly(["technical", "customer-service"], st.just("billing-and-more")),
        "ccEmailAddresses": st.lists(
            mostly(["a@example.com"], st.sampled_from(["not-an-address", "b@example.org\n"])),
            max_size=3,
        ),
        "afterTime": mostly(["2000-01-01", "2020-03-23T21:31:47.774Z"], text),
        "beforeTime": mostly(["2999-01-01", "2999-03-23T21:31:47+02:00"], text),
        "nextToken": text,
        "maxResults": st.integers(10, 100),
        "communicationBody": st.text(min_size=1, max_size=200),
        "checkId": mostly(CHECK_IDS, text),
        "checkIds": st.lists(mostly(CHECK_IDS, text), max_size=3),
        # Ids of attachments that do not exist (or are not even of the form).
        "attachmentSetId": st.just("as-" + "A" * 43) | text,
        "uploadIds": st.lists(
            st.just("upload-" + "B" * 43) | st.text(min_size=1, max_size=30), max_size=2
        ),
    }


@st.composite
def valid_body(draw: st.DrawFn, operation: str, seed: Seed) -> bytes:
    if draw(st.booleans()):
        params = draw(input_for(operation, clean(*seed)))
        if "categoryCode" in params:
            params["serviceCode"] = "general-info"
    else:
        params = draw(input_for(operation, realistic(*seed)))
    return bytes(serialize(operation, params)["body"])


def wire(operation: str, draw: st.DrawFn, seed: Seed) -> dict[str, Any]:
    """A valid input as the JSON object on the wire (blobs in base64)."""
    return json.loads(draw(valid_body(operation, seed)) or b"{}")


def of_another_type(expected: type) -> st.SearchStrategy[Any]:
    """A JSON value whose type is not `expected` (and not null, which means absent)."""
    typed: dict[type, st.SearchStrategy[Any]] = {
        bool: st.booleans(),
        int: st.integers(),
        float: st.floats(allow_nan=False, allow_infinity=False),
        str: st.text(max_size=20),
        list: st.lists(JSON_VALUES, max_size=3),
        dict: st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=3),
    }
    # A float is a fine double even when it has no fraction; an int is a fine double too.
    wrong = {bool, int, float, str, list, dict} - {expected}
    if expected is float:
        wrong.discard(int)
    return st.one_of(*[typed[kind] for kind in sorted(wrong, key=lambda t: t.__name__)])


@st.composite
def wrong_type(draw: st.DrawFn, operation: str, seed: Seed) -> bytes:
    body = wire(operation, draw, seed)
    members = SHAPES[input_shape(operation)]["members"]
    name = draw(st.sampled_from(sorted(members)))
    shape = SHAPES[members[name]["shape"]]
    if shape["type"] == "list" and draw(st.booleans()):
        # One level down: a list whose item has the wrong type.
        item_type = JSON_TYPE_OF[SHAPES[shape["member"]["shape"]]["type"]]
        body[name] = [draw(of_another_type(item_type))]
    else:
        body[name] = draw(of_another_type(JSON_TYPE_OF[shape["type"]]))
    return json.dumps(body).encode()


@st.composite
def oversize(draw: st.DrawFn, operation: str, seed: Seed) -> bytes:
    body = wire(operation, draw, seed)
    members = SHAPES[input_shape(operation)]["members"]
    name = draw(st.sampled_from(sorted(members)))
    shape = SHAPES[members[name]["shape"]]
    kind = shape["type"]
    if kind == "string":
        size = shape.get("max", 8000) + draw(st.integers(1, 3000))
        body[name] = draw(st.sampled_from(["x", "é", "☕", "\U0001f600"])) * size
    elif kind == "list":
        size = shape.get("max", 100) + draw(st.integers(1, 20))
        body[name] = ["a@example.com"] * size
    elif kind in ("integer", "long"):
        body[name] = draw(
            st.sampled_from([2**31, 2**63, -(2**63) - 1, 10**30, -1, 0])
            | st.integers(-(2**70), 2**70)
        )
    else:
        body[name] = draw(st.text(min_size=1000, max_size=2000))
    return json.dumps(body).encode()


@st.composite
def missing_required(draw: st.DrawFn, operation: str, seed: Seed) -> bytes:
    body = wire(operation, draw, seed)
    required = SHAPES[input_shape(operation)].get("required", [])
    if required:
        name = draw(st.sampled_from(required))
        if draw(st.booleans()):
            body.pop(name, None)
        else:
            body[name] = None
    return json.dumps(body).encode()


@st.composite
def junk_json(draw: st.DrawFn, operation: str, seed: Seed) -> bytes:
    if draw(st.booleans()):
        # A valid input with unknown members mixed in.
        body = wire(operation, draw, seed)
        body.update(draw(st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=4)))
        return json.dumps(body).encode()
    return json.dumps(draw(JSON_VALUES)).encode()


@st.composite
def junk_bytes(draw: st.DrawFn, operation: str, seed: Seed) -> bytes:
    return draw(
        st.binary(max_size=300)
        | st.sampled_from(
            [
                b"{",
                b'{"subject": "\xff\xfe"}',
                b"\xef\xbb\xbf{}",
                b"[" * 50_000 + b"]" * 50_000,
                b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
                b'{"maxResults": 1e400}',
                b'{"caseId": "\\ud800"}',
                b"\x00" * 64,
            ]
        )
    )


BODIES = {
    "valid": valid_body,
    "wrong type": wrong_type,
    "oversize": oversize,
    "missing required": missing_required,
    "junk JSON": junk_json,
    "random bytes": junk_bytes,
}


# --- the property ------------------------------------------------------------------


def check_answer(operation: str, response: httpx.Response) -> str | None:
    """Asserts the answer is well-formed; returns the error code, or None on success."""
    assert response.status_code < 500, response.text
    assert response.headers.get("x-amzn-requestid"), response.headers
    assert response.headers["content-type"].startswith(JSON_11)
    body = response.json()
    assert isinstance(body, dict), body
    if response.status_code == 200:
        assert "x-amzn-errortype" not in response.headers
        problems = shape_problems(output_shape(operation), body)
        assert not problems, problems
        return None
    code = body.get("__type")
    allowed = allowed_errors(operation)
    assert code in allowed, (operation, body)
    assert response.status_code == allowed[code], (operation, code, response.status_code)
    assert response.headers["x-amzn-errortype"] == code
    assert isinstance(body.get("message"), str), body
    return str(code)


@settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(
    operation=st.sampled_from(OPERATIONS),
    kind=st.sampled_from(["valid", *sorted(BODIES)]),  # valid inputs twice as often
    data=st.data(),
)
def test_any_request_gets_an_aws_shaped_answer_and_errors_change_nothing(
    server: ServerProcess, http: httpx.Client, operation: str, kind: str, data: st.DataObject
) -> None:
    account = str(next(_accounts))
    call(http, account, "CreateCase", {"subject": "seed", "communicationBody": "seed"})
    before = snapshot(http, account)
    seed = (before["cases"][0]["caseId"], before["cases"][0]["displayId"])
    body = data.draw(BODIES[kind](operation, seed), label="body")

    response = post(http, account, operation, body)
    code = check_answer(operation, response)
    event(f"{kind}: {code or 'HTTP 200'}")

    if kind == "wrong type":
        assert code == "SerializationException", response.text
    elif kind == "missing required" and SHAPES[input_shape(operation)].get("required"):
        assert code == "ValidationException", response.text

    if code is not None or operation in READS:
        assert snapshot(http, account) == before, (operation, code)


# Header values a client can send (control characters never reach the application).
TARGET_ALPHABET = string.ascii_letters + string.digits + " ._-:/#*?"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    target=st.text(TARGET_ALPHABET, max_size=60).map(str.strip)
    | st.text(TARGET_ALPHABET, max_size=30).map(f"{TARGET_PREFIX}.".__add__)
    | st.sampled_from([f"{TARGET_PREFIX}.", TARGET_PREFIX, f"{TARGET_PREFIX}.createCase"]),
    body=st.binary(max_size=100),
)
def test_unknown_targets_get_unknown_operation(
    http: httpx.Client, target: str, body: bytes
) -> None:
    target = target.strip()  # surrounding whitespace is not part of a header value
    operation = target.removeprefix(f"{TARGET_PREFIX}.")
    if target.startswith(f"{TARGET_PREFIX}.") and operation in OPERATIONS:
        return
    headers = {
        "Content-Type": JSON_11,
        "Authorization": authorization("100000000005"),
        "X-Amz-Target": target,
    }
    response = http.post("/", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["__type"] == "UnknownOperationException"
    assert response.headers["x-amzn-errortype"] == "UnknownOperationException"
    assert response.headers.get("x-amzn-requestid")


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("CreateCase", {"subject": "nul \x00 in subject", "communicationBody": "b"}),
        ("CreateCase", {"subject": "s", "communicationBody": "nul \x00 in body"}),
        ("AddCommunicationToCase", {"communicationBody": "\x00"}),
    ],
)
def test_text_with_nul_characters_is_refused_on_every_store(
    server: ServerProcess,
    http: httpx.Client,
    operation: str,
    params: dict[str, Any],
) -> None:
    """U+0000 is legal in JSON but not in PostgreSQL text: both stores refuse it alike."""
    account = str(next(_accounts))
    case_id = call(http, account, "CreateCase", {"subject": "s", "communicationBody": "b"})
    if operation == "AddCommunicationToCase":
        params = {**params, "caseId": case_id["caseId"]}
    before = snapshot(http, account)
    response = post(http, account, operation, json.dumps(params).encode())
    assert check_answer(operation, response) == "InvalidParameterValueException"
    assert "NUL" in response.json()["message"]
    assert snapshot(http, account) == before
