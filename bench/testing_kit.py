"""The testing kit's figures (issue 14), side by side with moto's `mock_aws`:

1. the session fixture's start: `SupportdServer().start()` until it answers (target < 1 s);
2. a fresh account per test: `new_account()` (target < 5 ms), and the whole
   `support_client` fixture (the account plus a boto3 client) for comparison;
3. a suite of 200 small tests (create a case, read it, resolve it) run by pytest with
   the plugin's `support_client`, and the same tests with moto's `mock_aws` (target:
   supportd's suite within 2x moto's).

The suites run as pytest processes of their own, interleaved over rounds (a busy moment
of the shared machine hurts both alike); figures are medians. The wall time of each
pytest process (interpreter and plugins included) and pytest's own session time are
both reported.

    .venv/bin/python bench/testing_kit.py [--rounds 3] [--tests 200]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"

TEST_BODY = """
CASE = {{
    "subject": "Instance unreachable after reboot",
    "communicationBody": "The instance status check fails since the reboot.",
    "serviceCode": "amazon-elastic-compute-cloud-linux",
    "categoryCode": "instance-issue",
    "severityCode": "low",
}}


@pytest.mark.parametrize("n", range({tests}))
def test_case_round_trip({fixture}, n):
    case_id = {fixture}.create_case(**CASE)["caseId"]
    cases = {fixture}.describe_cases(caseIdList=[case_id])["cases"]
    assert cases[0]["subject"] == CASE["subject"]
    assert {fixture}.resolve_case(caseId=case_id)["finalCaseStatus"] == "resolved"
"""

SUPPORTD_SUITE = """
import pytest
""" + TEST_BODY.replace("{fixture}", "support_client")

MOTO_SUITE = """
import boto3
import pytest
from moto import mock_aws


@pytest.fixture
def support():
    with mock_aws():
        yield boto3.client("support", region_name="us-east-1")
""" + TEST_BODY.replace("{fixture}", "support")

# The plugin by module name: an editable install may predate its entry point.
PLUGIN = ["-p", "no:supportd", "-p", "supportd.testing.pytest_plugin"]


def median(values: list[float]) -> float:
    return statistics.median(values)


def measure_start(times: int) -> dict[str, list[float]]:
    """Wall time of each start, and the CPU time the server process and the kit (this
    process: its store side, its polling) spent on it: on a quiet machine the wall time
    is about the larger CPU time, the two running side by side."""
    from supportd.testing import SupportdServer

    tick = os.sysconf("SC_CLK_TCK")
    figures: dict[str, list[float]] = {"wall_s": [], "server_cpu_s": [], "kit_cpu_s": []}
    for _ in range(times):
        server = SupportdServer()
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        server.start()
        figures["wall_s"].append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_SELF)
        figures["kit_cpu_s"].append(
            after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        )
        assert server._process is not None
        stat = Path(f"/proc/{server._process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        figures["server_cpu_s"].append((int(stat[11]) + int(stat[12])) / tick)
        server.stop()
    return figures


def measure_accounts(count: int) -> dict[str, float]:
    """Milliseconds per call, averaged over `count` calls each."""
    from supportd.testing import SupportdServer

    figures: dict[str, float] = {}
    with SupportdServer() as server:
        server.client()  # boto3's first client loads the model: not a per-test cost

        def per_call(fn: Any) -> float:
            started = time.perf_counter()
            for _ in range(count):
                fn()
            return (time.perf_counter() - started) * 1000 / count

        figures["new_account (open, enterprise)"] = per_call(server.new_account)
        figures["new_account (open, business: a store record)"] = per_call(
            lambda: server.new_account("business")
        )
        figures["support_client fixture (account + boto3 client)"] = per_call(
            lambda: server.client(server.new_account())
        )
    with SupportdServer(auth="sigv4") as signed:
        started = time.perf_counter()
        for _ in range(count):
            signed.new_account()
        figures["new_account (sigv4: account + access key)"] = (
            (time.perf_counter() - started) * 1000 / count
        )
    return figures


def run_suite(directory: Path, name: str, args: list[str], env: dict[str, str]) -> dict[str, float]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, name],
        cwd=directory,
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
        check=False,
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    session = re.search(r" in ([0-9.]+)s", result.stdout.splitlines()[-1])
    return {"wall_s": wall, "session_s": float(session.group(1)) if session else wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tests", type=int, default=200)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument(
        "--no-suites", action="store_true", help="only the start and the accounts (a minute)"
    )
    options = parser.parse_args()
    load_before = os.getloadavg()
    # As installed from the wheel: pip compiles the package's bytecode at install time.
    # (A source tree under PYTHONDONTWRITEBYTECODE would compile it at every server start.)
    import supportd

    compileall.compile_dir(Path(supportd.__file__).parent, quiet=1)

    starts = measure_start(options.starts)
    accounts = measure_accounts(options.accounts)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPPORTD_", "AWS_"))}
    # moto wants credentials of some kind; supportd's fixture brings its own.
    moto_env = {**env, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    rounds: dict[str, list[dict[str, float]]] = {"supportd": [], "moto": []}
    with tempfile.TemporaryDirectory(prefix="kit-bench-") as tmp:
        directory = Path(tmp)
        (directory / "test_supportd.py").write_text(SUPPORTD_SUITE.format(tests=options.tests))
        (directory / "test_moto.py").write_text(MOTO_SUITE.format(tests=options.tests))
        for _ in range(0 if options.no_suites else options.rounds):
            rounds["supportd"].append(run_suite(directory, "test_supportd.py", PLUGIN, env))
            rounds["moto"].append(
                run_suite(directory, "test_moto.py", ["-p", "no:supportd"], moto_env)
            )

    suite = {
        name: {key: median([r[key] for r in runs]) for key in ("wall_s", "session_s")}
        for name, runs in rounds.items()
        if runs
    }
    ratio_wall = ratio_session = None
    if suite:
        ratio_wall = suite["supportd"]["wall_s"] / suite["moto"]["wall_s"]
        ratio_session = suite["supportd"]["session_s"] / suite["moto"]["session_s"]
    report = {
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "start_s": starts,
        "accounts_ms": accounts,
        "suite": suite,
        "suite_rounds": rounds,
        "ratio_wall": ratio_wall,
        "ratio_session": ratio_session,
        "tests": options.tests,
    }
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    (RESULTS / f"testing_kit-{stamp}.json").write_text(json.dumps(report, indent=2))

    print(f"load average {load_before[0]:.2f} -> {os.getloadavg()[0]:.2f} (2 cores)")
    wall = starts["wall_s"]
    print(
        f"session fixture start: median {median(wall):.3f} s of {len(wall)}"
        f" (min {min(wall):.3f}, max {max(wall):.3f}); target < 1 s"
    )
    print(
        f"  CPU time: server process {median(starts['server_cpu_s']):.3f} s,"
        f" kit {median(starts['kit_cpu_s']):.3f} s (medians; the first start imports the kit)"
    )

    for name, ms in accounts.items():
        print(f"{name}: {ms:.3f} ms")
    if ratio_wall is None or ratio_session is None:
        return
    print(f"{options.tests} tests, median of {options.rounds} rounds:")
    for name, figures in suite.items():
        wall, session = figures["wall_s"], figures["session_s"]
        print(f"  {name:8s} wall {wall:.2f} s, pytest session {session:.2f} s")
    print(f"  supportd / moto: {ratio_wall:.2f}x wall, {ratio_session:.2f}x session; target <= 2x")


if __name__ == "__main__":
    main()
