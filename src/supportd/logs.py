"""Logging: one configuration for supportd's own loggers and uvicorn's, as text or as
JSON lines, every line carrying the id of the request it was written for.

The request id lives in a context variable that the HTTP front door sets as a request
begins (the same id the response carries in `x-amzn-RequestId` / `x-request-id`), so a
log line written anywhere below it (an operation, the store's retry warnings, uvicorn's
access log) names its request without passing it around. Outside a request it is `-`.

`logging_config(level, fmt)` is a dictConfig for the `serve` process and each uvicorn
worker (uvicorn applies it in every worker it starts).
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from typing import Any

import msgspec

REQUEST_ID: ContextVar[str] = ContextVar("supportd_request_id", default="-")
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"

# Attributes every LogRecord has; anything else on a record came as `extra=` and is
# written as a field of its JSON line.
_STANDARD = frozenset(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "color_message",
    "taskName",
}
_encoder = msgspec.json.Encoder()


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (as `request_id`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601 with milliseconds), level, logger,
    message, request_id, the record's extra fields, and the traceback if there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", REQUEST_ID.get()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _encoder.encode(line).decode("utf-8", errors="replace")


def logging_config(level: str, fmt: str) -> dict[str, Any]:
    """A logging.config.dictConfig for supportd and uvicorn: `fmt` is text or json."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}")
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"}
        if fmt == "json"
        else {"format": TEXT_FORMAT, "datefmt": None}
    )
    handler = {
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "formatter": "supportd",
        "filters": ["request_id"],
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": f"{__name__}.RequestIdFilter"}},
        "formatters": {"supportd": formatter},
        "handlers": {"supportd": handler},
        "root": {"handlers": ["supportd"], "level": level.upper()},
        "loggers": {
            # uvicorn's loggers write through the same handler (not their own).
            "uvicorn": {"handlers": [], "level": level.upper(), "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level.upper(), "propagate": True},
            "uvicorn.access": {"handlers": [], "level": level.upper(), "propagate": True},
        },
    }
