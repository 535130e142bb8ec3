"""`.ci/run` must not let CI pass with the PostgreSQL half skipped: it requires
PostgreSQL of the tests (SUPPORTD_TEST_REQUIRE_POSTGRES=1) and fails when it cannot start
or reach the server. The script runs for real here, in a copy of the checkout's layout,
with stand-ins for the PostgreSQL tools and `make` first on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "run"
BASH = shutil.which("bash") or "/bin/bash"


def _tool(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A directory with .ci/run in it, and a bin/ of stand-in tools."""
    (tmp_path / ".ci").mkdir()
    shutil.copy(SCRIPT, tmp_path / ".ci" / "run")
    (tmp_path / "bin").mkdir()
    # Only the ordinary tools the script needs besides the stand-ins: no PostgreSQL
    # tools of this machine can leak in.
    (tmp_path / "sys").mkdir()
    for name in ("dirname", "ls", "seq", "sleep", "touch"):
        found = shutil.which(name)
        assert found is not None
        (tmp_path / "sys" / name).symlink_to(found)
    # `make test` records the environment it was run with instead of running the suite.
    _tool(tmp_path / "bin", "make", f'echo "$SUPPORTD_TEST_REQUIRE_POSTGRES" > {tmp_path}/made')
    return tmp_path


def _run(checkout: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{checkout / 'bin'}:{checkout / 'sys'}"}
    env.pop("SUPPORTD_TEST_REQUIRE_POSTGRES", None)
    return subprocess.run(
        [BASH, str(checkout / ".ci" / "run")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_postgresql_that_does_not_start_fails_ci(checkout: Path) -> None:
    _tool(checkout / "bin", "pg_isready", "exit 2")
    _tool(checkout / "bin", "pg_ctlcluster", f'echo "$@" > {checkout}/started; exit 1')
    result = _run(checkout)
    assert result.returncode != 0, result.stdout + result.stderr
    assert (checkout / "started").read_text().split()[0] == "--skip-systemctl-redirect"
    assert not (checkout / "made").exists()  # the tests never ran


def test_a_postgresql_that_starts_but_stays_unreachable_fails_ci(checkout: Path) -> None:
    _tool(checkout / "bin", "pg_isready", "exit 2")
    _tool(checkout / "bin", "pg_ctlcluster", "exit 0")
    (checkout / "sys" / "sleep").unlink()
    _tool(checkout / "bin", "sleep", "exit 0")  # the 30 s wait, without the wait
    result = _run(checkout)
    assert result.returncode != 0
    assert "not reachable" in result.stderr
    assert not (checkout / "made").exists()


def test_missing_postgresql_tools_fail_ci(checkout: Path) -> None:
    result = _run(checkout)
    assert result.returncode != 0
    assert "not installed" in result.stderr
    assert not (checkout / "made").exists()


def test_a_started_postgresql_runs_the_tests_with_postgresql_required(checkout: Path) -> None:
    # Down at first; up once pg_ctlcluster has run.
    _tool(checkout / "bin", "pg_isready", f"test -e {checkout}/up")
    _tool(checkout / "bin", "pg_ctlcluster", f"touch {checkout}/up")
    result = _run(checkout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (checkout / "made").read_text().strip() == "1"
