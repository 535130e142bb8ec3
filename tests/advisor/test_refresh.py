"""RefreshTrustedAdvisorCheck and DescribeTrustedAdvisorCheckRefreshStatuses through boto3
against real server processes, in real time: every state of a refresh, the minimum
interval, providers that raise, hang or return nonsense, the built-in key-rotation
provider, refreshes that run once across nodes, and reads that never advance anything.

The providers are the test plug-in's (tests/advisor/plugin), found by the servers through
the `supportd.advisor_checks` entry point group.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from supportd.domain import clock
from supportd.domain.accounts import AccessKey, Account, LimitOverrides
from supportd.storage.base import Store
from supportd.storage.postgres import PostgresStore
from supportd.storage.sqlite import SQLiteStore
from tests.advisor.conftest import INTERVAL_MS, TIMEOUT_MS, AdvisorServer, start_server
from tests.advisor.helpers import error_of, post, refresh_status, seed, wait_for_status
from tests.support.clients import boto3_client
from tests.unit.model_checks import check_response

DAY_MS = 86_400_000
FINISHED = {"success", "abandoned"}


def result_of(client: Any, check_id: str) -> dict[str, Any]:
    return dict(client.describe_trusted_advisor_check_result(checkId=check_id)["result"])


def test_a_refresh_goes_through_every_state(
    advisor_server: AdvisorServer, client: Any, advisor_account: str
) -> None:
    assert refresh_status(client, "tstSlow0001") == {
        "checkId": "tstSlow0001",
        "status": "none",
        "millisUntilNextRefreshable": 0,
    }
    refreshed = client.refresh_trusted_advisor_check(checkId="tstSlow0001")["status"]
    assert refreshed["status"] == "enqueued"
    assert 0 < refreshed["millisUntilNextRefreshable"] <= INTERVAL_MS

    status, seen = wait_for_status(client, "tstSlow0001", {"processing", *FINISHED})
    assert status["status"] == "processing", seen
    assert result_of(client, "tstSlow0001")["status"] == "not_available"  # not yet computed

    # The worker is busy with the slow provider: another refresh waits in the queue.
    assert client.refresh_trusted_advisor_check(checkId="tstQuick001")["status"]["status"] == (
        "enqueued"
    )
    assert refresh_status(client, "tstQuick001")["status"] == "enqueued"

    status, seen = wait_for_status(client, "tstSlow0001", FINISHED)
    assert seen == ["processing", "success"]
    assert 0 < status["millisUntilNextRefreshable"] < INTERVAL_MS
    result = result_of(client, "tstSlow0001")
    assert result["status"] == "warning"
    assert result["flaggedResources"][0]["resourceId"] == "res-1"
    age_s = (clock.now_ms() - clock.parse_time_filter(result["timestamp"])) / 1000
    assert 0 <= age_s < 10
    _, seen = wait_for_status(client, "tstQuick001", FINISHED)
    assert seen[-1] == "success"

    # Within the minimum interval a refresh changes nothing and says how long to wait.
    again = client.refresh_trusted_advisor_check(checkId="tstSlow0001")["status"]
    assert again["status"] == "success"
    assert 0 < again["millisUntilNextRefreshable"] <= status["millisUntilNextRefreshable"]
    time.sleep(again["millisUntilNextRefreshable"] / 1000 + 0.05)
    assert refresh_status(client, "tstSlow0001")["millisUntilNextRefreshable"] == 0
    assert client.refresh_trusted_advisor_check(checkId="tstSlow0001")["status"]["status"] == (
        "enqueued"
    )
    wait_for_status(client, "tstSlow0001", FINISHED)
    assert [name for name, _, _ in advisor_server.runs(advisor_account)] == [
        "slow",
        "quick",
        "slow",
    ]


@pytest.mark.parametrize(
    ("check_id", "provider"),
    [("tstRaise001", "raises"), ("tstHang0001", "hangs"), ("tstBad00001", "invalid")],
)
def test_a_failing_provider_abandons_the_refresh_and_keeps_the_result(
    advisor_server: AdvisorServer,
    client: Any,
    advisor_account: str,
    check_id: str,
    provider: str,
) -> None:
    seed(advisor_server, advisor_account, check_id, {"status": "ok", "timestamp": "2024-01-02"})
    before = result_of(client, check_id)
    started = time.monotonic()
    client.refresh_trusted_advisor_check(checkId=check_id)
    status, seen = wait_for_status(client, check_id, FINISHED)
    elapsed = time.monotonic() - started
    assert status["status"] == "abandoned", seen
    assert result_of(client, check_id) == before
    assert [(name, check) for name, check, _ in advisor_server.runs(advisor_account)] == [
        (provider, check_id)
    ]
    if provider == "hangs":
        assert TIMEOUT_MS / 1000 <= elapsed < TIMEOUT_MS / 1000 + 5
    # An abandoned refresh is final: reading again does not bring it back.
    time.sleep(0.2)
    assert refresh_status(client, check_id)["status"] == "abandoned"


def test_a_plain_function_provider_runs(client: Any) -> None:
    client.refresh_trusted_advisor_check(checkId="tstSync0001")
    status, _ = wait_for_status(client, "tstSync0001", FINISHED)
    assert status["status"] == "success"
    result = result_of(client, "tstSync0001")
    assert (result["status"], result["resourcesSummary"]["resourcesFlagged"]) == ("error", 1)


def test_a_check_without_provider_keeps_its_seeded_result(
    advisor_server: AdvisorServer, client: Any, advisor_account: str
) -> None:
    seed(advisor_server, advisor_account, "tstNone0001", {"status": "error"})
    before = result_of(client, "tstNone0001")
    client.refresh_trusted_advisor_check(checkId="tstNone0001")
    assert wait_for_status(client, "tstNone0001", FINISHED)[0]["status"] == "success"
    assert result_of(client, "tstNone0001") == before


def test_a_computed_cost_check_writes_its_savings_as_floats(
    advisor_server: AdvisorServer, client: Any, advisor_account: str
) -> None:
    client.refresh_trusted_advisor_check(checkId="Z4AUBRNSmz")
    assert wait_for_status(client, "Z4AUBRNSmz", FINISHED)[0]["status"] == "success"
    params = {"checkId": "Z4AUBRNSmz"}
    raw = post(advisor_server, advisor_account, "DescribeTrustedAdvisorCheckResult", params)
    check_response("DescribeTrustedAdvisorCheckResult", raw)
    assert b'"estimatedMonthlySavings":7.0,"estimatedPercentMonthlySavings":0.0' in raw.content
    assert raw.json()["result"]["flaggedResources"][0]["metadata"] == ["us-east-1", "203.0.113.7"]


@pytest.mark.supportd_wording
@pytest.mark.parametrize("check_id", ["COr6dfpM03", "Wxdfp4B1L3", "51fC20e7I2"])
def test_auto_refreshed_checks_refuse_refresh_and_have_no_status(
    client: Any, check_id: str
) -> None:
    for call, params in (
        (client.refresh_trusted_advisor_check, {"checkId": check_id}),
        (client.describe_trusted_advisor_check_refresh_statuses, {"checkIds": [check_id]}),
    ):
        code, message = error_of(call, **params)
        assert code == "InvalidParameterValueException"
        assert f"{check_id} is refreshed automatically" in message
    # Its result is readable like any other.
    assert result_of(client, check_id)["status"] == "not_available"


def test_statuses_come_in_request_order(client: Any) -> None:
    client.refresh_trusted_advisor_check(checkId="tstQuick001")
    wait_for_status(client, "tstQuick001", FINISHED)
    statuses = client.describe_trusted_advisor_check_refresh_statuses(
        checkIds=["DqdJqYeRm5", "tstQuick001", "Pfx0RwqBli", "tstQuick001"]
    )["statuses"]
    assert [(s["checkId"], s["status"]) for s in statuses] == [
        ("DqdJqYeRm5", "none"),
        ("tstQuick001", "success"),
        ("Pfx0RwqBli", "none"),
    ]


# --- the built-in provider -----------------------------------------------------------


def open_store(server: AdvisorServer) -> Store:
    """supportd's store of the server, opened by this test process as a second node."""
    kind, where = server.store_args
    return (
        PostgresStore(where, pool_size=2)
        if kind == "--database"
        else SQLiteStore(Path(where) / "supportd.db")
    )


async def add_keys(server: AdvisorServer, account: str, keys: list[tuple[str, int, bool]]) -> None:
    now = clock.now_ms()
    store = open_store(server)
    await store.open()
    try:
        email = f"account-{account}@example.com"
        await store.create_account(Account(account, email, "business", LimitOverrides(), now))
        for key_id, age_days, revoked in keys:
            created = now - age_days * DAY_MS
            await store.create_key(
                AccessKey(
                    access_key_id=key_id,
                    account_id=account,
                    user_name=f"user-{key_id[-4:].lower()}",
                    secret_sealed="sealed-secret-not-used-here",
                    session_token_hash=None,
                    expires_ms=None,
                    created_ms=created,
                    revoked_ms=now if revoked else None,
                )
            )
    finally:
        await store.close()


def test_the_builtin_provider_flags_access_keys_not_rotated(
    advisor_server: AdvisorServer, client: Any, advisor_account: str
) -> None:
    suffix = advisor_account[-8:]
    fresh, yellow, red, gone = (f"AKIA{letter}TEST{suffix}" for letter in "FYRG")
    asyncio.run(
        add_keys(
            advisor_server,
            advisor_account,
            [(fresh, 10, False), (yellow, 100, False), (red, 3 * 365, False), (gone, 500, True)],
        )
    )
    client.refresh_trusted_advisor_check(checkId="DqdJqYeRm5")
    assert wait_for_status(client, "DqdJqYeRm5", FINISHED)[0]["status"] == "success"
    result = result_of(client, "DqdJqYeRm5")
    assert result["status"] == "error"
    assert result["resourcesSummary"] == {
        "resourcesProcessed": 3,
        "resourcesFlagged": 2,
        "resourcesIgnored": 0,
        "resourcesSuppressed": 0,
    }
    flagged = {r["resourceId"]: r for r in result["flaggedResources"]}
    assert set(flagged) == {yellow, red}
    assert flagged[yellow]["status"] == "warning"
    assert flagged[yellow]["metadata"][:3] == ["Yellow", f"user-{yellow[-4:].lower()}", yellow]
    assert flagged[yellow]["metadata"][4] == "Not rotated in 100 days"
    assert flagged[red]["status"] == "error" and flagged[red]["metadata"][0] == "Red"
    # Another account with no keys: processed nothing, all clear.
    other = boto3_client(advisor_server.url, str(int(advisor_account) + 1))
    other.refresh_trusted_advisor_check(checkId="DqdJqYeRm5")
    wait_for_status(other, "DqdJqYeRm5", FINISHED)
    assert result_of(other, "DqdJqYeRm5")["status"] == "ok"


# --- several nodes, and a node without a worker ---------------------------------------


def test_refreshes_run_once_across_nodes(
    advisor_server: AdvisorServer, advisor_account: str, tmp_path: Path
) -> None:
    """A second server process on the same store, with its own worker: refreshes asked of
    both nodes at once start once, and each runs its provider once."""
    kind, where = advisor_server.store_args
    second = start_server(
        tmp_path,
        where if kind == "--database" else "",
        advisor_server.log,
        data_dir=None if kind == "--database" else Path(where),
    )
    try:
        nodes = [boto3_client(server.url, advisor_account) for server in (advisor_server, second)]
        calls = [
            (nodes[n % 2], check) for n in range(12) for check in ("tstQuick001", "tstSync0001")
        ]
        with ThreadPoolExecutor(8) as pool:
            answers = list(
                pool.map(lambda call: call[0].refresh_trusted_advisor_check(checkId=call[1]), calls)
            )
        assert all(a["status"]["status"] in {"enqueued", "processing", "success"} for a in answers)
        for check in ("tstQuick001", "tstSync0001"):
            for node in nodes:
                wait_for_status(node, check, FINISHED)
        runs = sorted((name, check) for name, check, _ in advisor_server.runs(advisor_account))
        assert runs == [("blocking", "tstSync0001"), ("quick", "tstQuick001")]
    finally:
        second.process.stop()


def test_reads_never_advance_a_refresh(
    request: pytest.FixtureRequest, store_kind: str, tmp_path: Path, advisor_account: str
) -> None:
    """Without a worker a refresh stays enqueued however often it is read; a node with a
    worker that joins later runs it."""
    from tests.advisor.conftest import database_url

    url = database_url(request, store_kind)
    api_only = start_server(tmp_path / "api", url, tmp_path / "runs.log", "--no-background-worker")
    try:
        client = boto3_client(api_only.url, advisor_account)
        assert client.refresh_trusted_advisor_check(checkId="tstQuick001")["status"]["status"] == (
            "enqueued"
        )
        before = result_of(client, "tstQuick001")
        for _ in range(15):
            assert refresh_status(client, "tstQuick001")["status"] == "enqueued"
            assert result_of(client, "tstQuick001") == before
            time.sleep(0.05)
        assert api_only.runs(advisor_account) == []

        worker = start_server(
            tmp_path / "worker", url, tmp_path / "runs.log", data_dir=tmp_path / "api" / "data"
        )
        try:
            assert wait_for_status(client, "tstQuick001", FINISHED)[0]["status"] == "success"
            assert result_of(client, "tstQuick001")["status"] == "ok"
            assert [name for name, _, _ in api_only.runs(advisor_account)] == ["quick"]
        finally:
            worker.process.stop()
    finally:
        api_only.process.stop()
