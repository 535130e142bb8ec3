"""supportd.api_errors against the error shapes of botocore's Support model."""

from __future__ import annotations

import json

import pytest
from botocore.model import ServiceModel
from botocore.parsers import create_parser

from supportd import api_errors
from supportd.http import protocol
from tests.unit.model_strategies import RAW_MODEL, SHAPES

EXCEPTION_SHAPES = sorted(name for name, shape in SHAPES.items() if shape.get("exception"))
OPERATION_ERRORS = sorted(
    {error["shape"] for op in RAW_MODEL["operations"].values() for error in op.get("errors", [])}
)
BOTOCORE_MODEL = ServiceModel(RAW_MODEL, service_name="support")


def test_the_model_declares_the_errors_the_facts_sheet_lists() -> None:
    # Guards the tests below against an empty or renamed model.
    assert set(EXCEPTION_SHAPES) == {
        "AttachmentIdNotFound",
        "AttachmentLimitExceeded",
        "AttachmentSetExpired",
        "AttachmentSetIdNotFound",
        "AttachmentSetSizeLimitExceeded",
        "CaseCreationLimitExceeded",
        "CaseIdNotFound",
        "DescribeAttachmentLimitExceeded",
        "DryRunOperationException",
        "InternalServerError",
        "ThrottlingException",
        "UploadIdNotFound",
    }
    assert set(OPERATION_ERRORS) <= set(EXCEPTION_SHAPES)


@pytest.mark.parametrize("code", sorted(set(EXCEPTION_SHAPES) | set(OPERATION_ERRORS)))
def test_every_modelled_error_is_defined(code: str) -> None:
    assert code in api_errors.ERRORS
    cls = api_errors.ERRORS[code]
    assert cls.code == code
    assert cls.__name__ == code
    assert issubclass(cls, api_errors.ApiError)


@pytest.mark.parametrize("code", EXCEPTION_SHAPES)
def test_modelled_faults_are_5xx_and_everything_else_4xx(code: str) -> None:
    status = api_errors.ERRORS[code].status
    if SHAPES[code].get("fault"):
        assert 500 <= status <= 599
    else:
        assert 400 <= status <= 499


@pytest.mark.parametrize("code", sorted(api_errors.ERRORS))
def test_only_internal_server_error_is_a_fault(code: str) -> None:
    status = api_errors.ERRORS[code].status
    if code == "InternalServerError":
        assert status == 500
    elif code == "ServiceUnavailable":  # AWS's common error for a temporary failure
        assert status == 503
    else:
        assert 400 <= status <= 499, code


def test_errors_table_is_keyed_by_code() -> None:
    assert all(code == cls.code for code, cls in api_errors.ERRORS.items())
    assert len({id(cls) for cls in api_errors.ERRORS.values()}) == len(api_errors.ERRORS)


@pytest.mark.parametrize("code", sorted(api_errors.ERRORS))
def test_error_body_is_type_and_message(code: str) -> None:
    error = api_errors.ERRORS[code]("Something went wrong: 'x'")
    assert error.body() == {"__type": code, "message": "Something went wrong: 'x'"}
    assert json.loads(protocol.encode_error(error)) == {
        "__type": code,
        "message": "Something went wrong: 'x'",
    }
    assert str(error) == "Something went wrong: 'x'"


@pytest.mark.parametrize("code", EXCEPTION_SHAPES)
def test_modelled_error_bodies_use_only_members_of_the_shape(code: str) -> None:
    members = set(SHAPES[code]["members"])
    assert "message" in members
    body = api_errors.ERRORS[code]("m").body()
    assert set(body) - {"__type"} <= members


def test_throttling_reasons_are_carried_in_the_body() -> None:
    reasons = [{"reason": "RateExceeded", "resource": "CreateCase"}]
    error = api_errors.ThrottlingException("Rate exceeded", throttlingReasons=reasons)
    body = json.loads(protocol.encode_error(error))
    assert body == {
        "__type": "ThrottlingException",
        "message": "Rate exceeded",
        "throttlingReasons": reasons,
    }
    assert set(body) - {"__type"} <= set(SHAPES["ThrottlingException"]["members"])


@pytest.mark.parametrize("code", sorted(api_errors.ERRORS))
def test_botocore_reads_code_and_message(code: str) -> None:
    error = api_errors.ERRORS[code]("The case ID is not valid: case-1")
    parsed = create_parser("json").parse(
        {
            "status_code": error.status,
            "headers": {
                "x-amzn-requestid": "4f2e2f3c-52a3-4bbd-9a2c-0c9e2a8b0f5e",
                "x-amzn-errortype": code,
                "content-type": protocol.CONTENT_TYPE,
            },
            "body": protocol.encode_error(error),
        },
        BOTOCORE_MODEL.operation_model("CreateCase").output_shape,
    )
    assert parsed["Error"] == {"Code": code, "Message": "The case ID is not valid: case-1"}
    assert parsed["ResponseMetadata"]["RequestId"] == "4f2e2f3c-52a3-4bbd-9a2c-0c9e2a8b0f5e"
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == error.status


def test_error_codes_are_plain() -> None:
    # The Dart client does not strip a `namespace#` prefix or a `:suffix` from __type.
    for code in api_errors.ERRORS:
        assert code.isidentifier() and "#" not in code and ":" not in code
