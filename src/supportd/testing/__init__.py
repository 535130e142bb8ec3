"""supportd in other people's test suites.

`SupportdServer` runs a real `supportd serve` on a free port with a store of its own
and plays the support side (replies, notes, statuses, the fake clock, Trusted Advisor
results); the pytest plugin (`supportd.testing.pytest_plugin`, registered through the
`pytest11` entry point) wraps it in the `supportd_server` and `support_client`
fixtures. See docs/testing.md.

Importing this package is cheap and has no side effects: supportd's own modules and
boto3 are imported when a server starts or a client is made.
"""

from __future__ import annotations

from supportd.testing.server import SupportdError, SupportdServer

__all__ = ["SupportdError", "SupportdServer"]
