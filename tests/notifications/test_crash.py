"""kill -9 loses no notification, on both stores: the outbox event commits with the
change, and a delivery cut off mid-way is made again (with the same idempotency key)
once the dead node's lease runs out. The fake clock moves past the lease instead of
waiting for it."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from supportd.runtime import write_offset
from tests.notifications.conftest import Notify, start_notify, stop_notify
from tests.notifications.receivers import Hit, wait_until
from tests.support.clients import boto3_client

PAST_THE_LEASE_MS = 120_000


@pytest.fixture
def crashing(
    request: pytest.FixtureRequest, store_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Notify]:
    notify = start_notify(tmp_path_factory.mktemp(f"crash-{store_kind}"), store_kind, request)
    yield notify
    stop_notify(notify)


def children(pid: int) -> dict[int, tuple[str, int]]:
    """The processes whose parent is `pid`: their command line and niceness."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            found[int(proc.name)] = (command, int(fields[16]))
    return found


def running(pid: int) -> bool:
    """Alive, and not a zombie nobody has reaped yet."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def delivery_processes(notify: Notify) -> dict[int, tuple[str, int]]:
    assert notify.process.process is not None
    return {
        pid: seen
        for pid, seen in children(notify.process.process.pid).items()
        if "supportd.notifications.process" in seen[0]
    }


def test_serve_delivers_from_a_nicer_child_that_dies_with_it(crashing: Notify) -> None:
    # serve starts its child before it answers /healthz: it is there once started.
    [(child, (_, nice))] = delivery_processes(crashing).items()
    assert nice == 10  # --notify-nice's default
    crashing.process.kill()
    wait_until(lambda: not running(child), what="the child to die with serve")
    crashing.process.extra_args.append("--no-notify-worker")
    crashing.process.start()
    assert delivery_processes(crashing) == {}


def restart_after_kill(notify: Notify) -> None:
    notify.process.kill()
    notify.process.start()
    write_offset(notify.clock_path, PAST_THE_LEASE_MS)


def _whole(hit: Hit) -> bool:
    """A request the sender finished: a kill can land between a POST's headers and the
    end of its body, and the receiver then holds what arrived (the delivery is made
    again after the restart)."""
    length = {name.lower(): value for name, value in hit.headers.items()}["content-length"]
    return len(hit.body) == int(length)


def delivered_cases(notify: Notify, account: str) -> set[str]:
    return {
        h.json()["detail"]["case-id"]
        for h in notify.hooks.at(account)
        if _whole(h) and h.json()["detail"]["event-name"] == "CreateCase"
    }


def test_kill_9_in_the_middle_of_a_delivery(crashing: Notify) -> None:
    notify, account = crashing, "612345678901"
    notify.cli("accounts", "create", account, "--email", "crash@example.org", "--plan", "business")
    notify.webhook(account, "hang")  # the receiver holds the first request
    notify.hooks.hang_s = 30
    client = boto3_client(notify.url, account)
    case_id = client.create_case(subject="Crash", communicationBody="x")["caseId"]
    wait_until(lambda: notify.hooks.at(account), what="the delivery to start")
    restart_after_kill(notify)  # while the receiver has not answered
    notify.hooks.overrides[account] = "ok"

    def delivered() -> dict[str, Any] | None:
        found = notify.case_deliveries(case_id)
        statuses = {d["channel"]: d["status"] for e in found["events"] for d in e["deliveries"]}
        return found if statuses and set(statuses.values()) == {"delivered"} else None

    found = wait_until(delivered, what="every delivery after the restart")
    assert {d["channel"] for e in found["events"] for d in e["deliveries"]} == {
        "email",
        "webhook",
        "eventbridge",
    }
    hits = notify.hooks.at(account)
    assert len(hits) == 2  # cut off, then made again
    assert len({h.headers["X-Supportd-Delivery"] for h in hits}) == 1
    mails = notify.mail.to("crash@example.org")
    assert mails and len({m.message["Message-ID"] for m in mails}) == 1
    client.close()


def test_kill_9_at_random_moments_under_load(crashing: Notify) -> None:
    notify, account = crashing, "623456789012"
    notify.webhook(account, "ok", events="CreateCase")
    acknowledged: list[str] = []
    rounds = 2
    for round_number in range(rounds):
        stop = threading.Event()

        def create(done: threading.Event = stop) -> None:
            client = boto3_client(notify.url, account)
            try:
                while not done.is_set():
                    try:
                        answer = client.create_case(subject="Load", communicationBody="x")
                    except Exception:
                        return  # the server is gone
                    if "caseId" not in answer:
                        return  # an answer cut off by the kill (botocore reads {})
                    acknowledged.append(answer["caseId"])
            finally:
                client.close()

        threads = [threading.Thread(target=create) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(random.uniform(0.4, 1.2))
        notify.process.kill()
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        notify.process.start()
        write_offset(notify.clock_path, PAST_THE_LEASE_MS * (round_number + 1))
    assert len(acknowledged) > 10

    client = boto3_client(notify.url, account)
    stored = {
        case["caseId"]
        for page in client.get_paginator("describe_cases").paginate(
            includeResolvedCases=True, includeCommunications=False
        )
        for case in page["cases"]
    }
    client.close()
    # Every acknowledged case is stored; every stored case (some committed without an
    # answer reaching the client) is notified, exactly once as far as events go.
    assert set(acknowledged) <= stored
    wait_until(
        lambda: delivered_cases(notify, account) >= stored,
        timeout=60,
        what=f"the events of {len(stored)} cases ({len(delivered_cases(notify, account))} so far)",
    )
    assert delivered_cases(notify, account) == stored
