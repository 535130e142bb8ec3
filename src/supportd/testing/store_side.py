"""The kit's own handle on the store its server uses.

What the API does not offer a test suite is done here, through the operations layer,
exactly as `supportd staff`, `supportd accounts` and `supportd keys` would: the staff
member (and its token) the kit acts as, accounts with a plan, access keys for SigV4, and
reading how far the server's background work has got after the clock moved. Everything
else goes through the server, over HTTP.

The store needs an event loop; the suite's code is synchronous. So the store lives on a
loop in a thread of its own and each call waits for its result (a fraction of a
millisecond on top of the work).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from supportd.config import Config
    from supportd.operations.context import Context
    from supportd.security.secretbox import SecretBox
    from supportd.storage.base import Store

T = TypeVar("T")

# The kit's store needs a connection or two, not the server's pool.
POOL_SIZE = 2
CALL_TIMEOUT_S = 60.0


@dataclasses.dataclass(frozen=True)
class Staff:
    name: str
    token: str = dataclasses.field(repr=False)  # a secret, if only a test's


class StoreSide:
    def __init__(self, config: Config) -> None:
        self.config = config
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="supportd-testing-store", daemon=True
        )
        self._thread.start()
        self._ctx: Context | None = None
        self._box: SecretBox | None = None

    # --- running coroutines on the store's loop ------------------------------------------

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT_S) -> T:
        return self.submit(coro).result(timeout)

    @property
    def ctx(self) -> Context:
        if self._ctx is None:
            raise RuntimeError("the store is not open")
        return self._ctx

    @property
    def store(self) -> Store:
        return self.ctx.store

    # --- opening and closing -------------------------------------------------------------

    async def migrate(self) -> None:
        """PostgreSQL: apply the migrations (the server refuses a database without them;
        SQLite migrates itself on opening)."""
        from supportd.storage.postgres import migrate

        await migrate(self.config.database_url)

    async def open(self, staff_name: str) -> Staff:
        """Open the store and make the staff member the kit acts as, with a token."""
        from supportd import runtime
        from supportd.operations import staff as staff_ops
        from supportd.operations.context import Context
        from supportd.reference import catalogue

        config = self.config
        store = runtime.open_store(dataclasses.replace(config, database_pool_size=POOL_SIZE))
        await store.open()
        self._ctx = Context(
            config=config,
            catalogue=catalogue.load(config.reference_dir),
            store=store,
            clock=runtime.OffsetFileClock(Path(config.fake_clock_file)),
        )
        self._box = runtime.open_secret_box(config)
        await staff_ops.create_staff(
            self._ctx,
            None,
            {"name": staff_name, "email": f"{staff_name}@example.com", "role": "admin"},
        )
        token = await staff_ops.create_token(self._ctx, None, staff_name)
        return Staff(staff_name, str(token["token"]))

    def close(self) -> None:
        if self._ctx is not None:
            ctx, self._ctx = self._ctx, None
            self.run(ctx.store.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CALL_TIMEOUT_S)
        self._loop.close()

    # --- accounts and keys ---------------------------------------------------------------

    async def create_account(
        self, account_id: str, plan: str, with_key: bool
    ) -> tuple[str, str] | None:
        """An account with its plan; with_key: and an access key, as (id, secret)."""
        from supportd.operations import accounts

        now = self.ctx.clock.now_ms()
        email = f"account-{account_id}@example.com"
        await accounts.create_account(self.store, account_id, email, plan, now)
        if not with_key:
            return None
        assert self._box is not None
        key = await accounts.create_key(self.store, self._box, account_id, now, user_name="tests")
        return key.key.access_key_id, key.secret_access_key

    # --- background work -----------------------------------------------------------------

    async def caught_up(self, now_ms: int) -> bool:
        """Whether the server's worker has run everything due at `now_ms`: the period of
        each periodic task that holds `now_ms`, and every job due by then."""
        from supportd.domain import jobs
        from supportd.operations import registry, staff  # noqa: F401 (they register their work)
        from supportd.operations.background import JOB_KINDS, PERIODIC, periodic_kind

        periods = {
            periodic_kind(task.name): jobs.periodic_key(
                task.name, now_ms, int(task.interval_for(self.config) * 1000)
            )[1]
            for task in PERIODIC.values()
        }
        progress = await self.store.job_progress([*JOB_KINDS, *periods], now_ms)
        return jobs.caught_up(progress, periods)
