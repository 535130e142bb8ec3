"""Token buckets for request rates (transactions per second).

A bucket holds up to `burst` tokens (at least one, and one second's worth of the rate),
refills at `rate` tokens per second, and each request takes one. Buckets live in one
process: with N processes an account can reach up to N times the rate (see
docs/compatibility.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(slots=True)
class TokenBucket:
    rate: float  # tokens added per second
    burst: float  # bucket size
    tokens: float
    updated: float

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def burst_for(rate: float) -> float:
    return max(1.0, rate)


class RateLimiter:
    """One bucket per key (e.g. account and API family), created full on first use. The
    rate is given with each request, so a changed per-account limit applies at once."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._buckets: dict[str, TokenBucket] = {}

    def allow(self, key: str, rate: float, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                # Buckets refill within seconds: forgetting them all costs at most one
                # burst per key.
                self._buckets.clear()
            burst = burst_for(rate)
            bucket = self._buckets[key] = TokenBucket(rate, burst, burst, now)
        elif bucket.rate != rate:
            bucket.rate = rate
            bucket.burst = burst_for(rate)
        return bucket.take(now)
