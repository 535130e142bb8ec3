"""Log lines as text or JSON, each naming the request it was written for."""

from __future__ import annotations

import io
import json
import logging
import logging.config

import pytest

from supportd import logs


def _capture(fmt: str) -> tuple[logging.Logger, io.StringIO]:
    config = logs.logging_config("info", fmt)
    stream = io.StringIO()
    config["handlers"]["supportd"]["stream"] = stream
    config["loggers"] = {}
    logging.config.dictConfig(config)
    return logging.getLogger("supportd.test"), stream


@pytest.fixture(autouse=True)
def _restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield None
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_the_request_id_and_extra_fields() -> None:
    logger, stream = _capture("json")
    token = logs.REQUEST_ID.set("req-1")
    try:
        logger.warning("slow %s", "thing", extra={"operation": "CreateCase", "duration_ms": 7})
    finally:
        logs.REQUEST_ID.reset(token)
    logger.info("outside")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "slow thing"
    assert (first["level"], first["logger"]) == ("warning", "supportd.test")
    assert (first["request_id"], first["operation"], first["duration_ms"]) == (
        "req-1",
        "CreateCase",
        7,
    )
    assert first["time"].endswith("Z") and "T" in first["time"]
    assert second["request_id"] == "-"


def test_json_lines_hold_the_traceback() -> None:
    logger, stream = _capture("json")
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    line = json.loads(stream.getvalue())
    assert "ValueError: boom" in line["exception"]


def test_text_lines_name_the_request() -> None:
    logger, stream = _capture("text")
    token = logs.REQUEST_ID.set("req-2")
    try:
        logger.info("hello")
    finally:
        logs.REQUEST_ID.reset(token)
    assert stream.getvalue().rstrip().endswith("INFO supportd.test [req-2] hello")


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="text, json"):
        logs.logging_config("info", "xml")
