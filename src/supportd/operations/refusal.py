"""What the handlers outside the AWS API (the staff API, presigned links, seeding
Trusted Advisor results) raise to refuse a request; AWS API handlers raise ApiError."""

from __future__ import annotations


class Refused(Exception):
    """A refused request: an HTTP status, a stable code and a message, which the front
    door writes in its own form."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
