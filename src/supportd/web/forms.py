"""Reading a posted form within limits: the body's size (counted as it arrives, so an
oversized upload is cut off, not buffered), the number of files and fields, and each
text field's size. A form the limits refuse becomes a page with a plain explanation."""

from __future__ import annotations

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message

MAX_FIELD_BYTES = 128 * 1024  # a Description of 8,000 characters is at most 32 KB
MAX_FIELDS = 50


class FormRefused(Exception):
    """A form that is not read: the HTTP status and what to tell the person."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


class _TooLarge(Exception):
    pass


def too_large(max_bytes: int) -> FormRefused:
    return FormRefused(
        413,
        "The form is too large",
        f"Everything sent with one form, files included, may add up to "
        f"{max_bytes // (1024 * 1024)} MB. Go back, attach fewer or smaller files, and "
        "send it again.",
    )


async def read_form(request: Request, *, max_bytes: int, max_files: int = 0) -> FormData:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise too_large(max_bytes)
    received = 0
    receive = request.receive

    async def counting_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise _TooLarge
        return message

    counted = Request(request.scope, counting_receive)
    try:
        return await counted.form(
            max_files=max_files, max_fields=MAX_FIELDS, max_part_size=MAX_FIELD_BYTES
        )
    except _TooLarge:
        raise too_large(max_bytes) from None
    except MultiPartException as exc:
        raise FormRefused(400, "The form could not be read", exc.message) from None
    except HTTPException as exc:  # how Starlette reports a MultiPartException in an app
        raise FormRefused(400, "The form could not be read", str(exc.detail)) from None
    except ClientDisconnect:
        raise FormRefused(400, "The form was not received", "The upload stopped.") from None


def text(form: FormData, name: str) -> str:
    """A text field's value; "" when missing (or when a file was sent in its place)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def files(form: FormData, name: str) -> list[UploadFile]:
    """The files chosen in a file field, without the empty part a browser sends when
    none was chosen."""
    return [
        item
        for item in form.getlist(name)
        if isinstance(item, UploadFile) and (item.filename or (item.size or 0) > 0)
    ]
