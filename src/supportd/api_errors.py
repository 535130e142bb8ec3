"""Every error supportd answers with, one class per AWS error code.

The protocol layer serialises these; handlers only raise them. A test checks that
every error the botocore model declares for the Support service is in ERRORS.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ApiError(Exception):
    """An error with an AWS error code, an HTTP status and a message."""

    code: ClassVar[str] = "InternalServerError"
    status: ClassVar[int] = 500

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        # Modelled extra members of the error shape (e.g. throttlingReasons).
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"__type": self.code, "message": self.message, **self.extra}


def _error(code: str, status: int = 400) -> type[ApiError]:
    return type(code, (ApiError,), {"code": code, "status": status, "__module__": __name__})


# Modelled by the Support service.
InternalServerError = _error("InternalServerError", 500)
AttachmentIdNotFound = _error("AttachmentIdNotFound")
AttachmentLimitExceeded = _error("AttachmentLimitExceeded")
AttachmentSetExpired = _error("AttachmentSetExpired")
AttachmentSetIdNotFound = _error("AttachmentSetIdNotFound")
AttachmentSetSizeLimitExceeded = _error("AttachmentSetSizeLimitExceeded")
CaseCreationLimitExceeded = _error("CaseCreationLimitExceeded")
CaseIdNotFound = _error("CaseIdNotFound")
DescribeAttachmentLimitExceeded = _error("DescribeAttachmentLimitExceeded")
DryRunOperationException = _error("DryRunOperationException")
ThrottlingException = _error("ThrottlingException")
UploadIdNotFound = _error("UploadIdNotFound")

# Common to AWS JSON services, or real but not modelled.
UnknownOperationException = _error("UnknownOperationException")
SerializationException = _error("SerializationException")
ValidationException = _error("ValidationException")
InvalidParameterValueException = _error("InvalidParameterValueException")
SubscriptionRequiredException = _error("SubscriptionRequiredException")
MissingAuthenticationTokenException = _error("MissingAuthenticationTokenException", 403)
IncompleteSignatureException = _error("IncompleteSignatureException", 403)
InvalidSignatureException = _error("InvalidSignatureException", 403)
UnrecognizedClientException = _error("UnrecognizedClientException", 403)
ExpiredTokenException = _error("ExpiredTokenException", 403)
AccessDeniedException = _error("AccessDeniedException", 403)
RequestEntityTooLargeException = _error("RequestEntityTooLargeException", 413)
UnsupportedMediaTypeException = _error("UnsupportedMediaTypeException", 415)
# AWS's common error for a temporary failure of the server (SDKs retry it): the store
# cannot be reached, or its disk is full.
ServiceUnavailable = _error("ServiceUnavailable", 503)

ERRORS: dict[str, type[ApiError]] = {
    cls.code: cls
    for cls in (
        InternalServerError,
        AttachmentIdNotFound,
        AttachmentLimitExceeded,
        AttachmentSetExpired,
        AttachmentSetIdNotFound,
        AttachmentSetSizeLimitExceeded,
        CaseCreationLimitExceeded,
        CaseIdNotFound,
        DescribeAttachmentLimitExceeded,
        DryRunOperationException,
        ThrottlingException,
        UploadIdNotFound,
        UnknownOperationException,
        SerializationException,
        ValidationException,
        InvalidParameterValueException,
        SubscriptionRequiredException,
        MissingAuthenticationTokenException,
        IncompleteSignatureException,
        InvalidSignatureException,
        UnrecognizedClientException,
        ExpiredTokenException,
        AccessDeniedException,
        RequestEntityTooLargeException,
        UnsupportedMediaTypeException,
        ServiceUnavailable,
    )
}
