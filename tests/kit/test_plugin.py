"""The pytest plugin, in pytest runs of their own: its fixtures and options in a user's
suite, and nothing at all in a suite that does not use them (this one included)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.kit.stories import OPTIONS, STORY
from tests.support import postgres

ROOT = Path(__file__).resolve().parents[2]

# The plugin by its module: the installed entry point may predate it (an editable install
# made before it existed), and loading it twice would be an error.
PLUGIN = ["-p", "no:supportd", "-p", "supportd.testing.pytest_plugin"]
# A user's suite here has no use for the heavy plugins of this environment's dev tools.
UNUSED = ["-p", "no:schemathesis", "-p", "no:hypothesispytest"]


def run_pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-W", "error", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_a_users_suite_gets_a_server_and_an_account_per_test(tmp_path: Path) -> None:
    (tmp_path / "test_story.py").write_text(STORY)
    result = run_pytest(tmp_path, *PLUGIN, *UNUSED, "-q", "test_story.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_sigv4_on_postgresql(
    tmp_path: Path, postgres_databases: postgres.ThrowawayDatabases
) -> None:
    (tmp_path / "test_options.py").write_text(OPTIONS)
    (tmp_path / "test_story.py").write_text(STORY)
    url = postgres_databases.new_database()
    options = ["--supportd-auth", "sigv4", "--supportd-database", url]
    result = run_pytest(tmp_path, *PLUGIN, *UNUSED, "-q", *options, ".")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


def test_a_bad_option_value_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "test_options.py").write_text(OPTIONS)
    result = run_pytest(tmp_path, *PLUGIN, *UNUSED, "--supportd-auth", "kerberos", ".")
    assert result.returncode == 4
    assert "invalid choice: 'kerberos'" in result.stderr


def test_loading_the_plugin_imports_and_starts_nothing() -> None:
    probe = (
        "import sys, supportd.testing.pytest_plugin\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('supportd', 'boto3', 'botocore', 'asyncpg', 'starlette')))\n"
        "import threading; print(threading.active_count())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    modules, threads = result.stdout.splitlines()
    kit = ["supportd.testing", "supportd.testing.pytest_plugin", "supportd.testing.server"]
    assert modules == str(["supportd", *kit])
    assert threads == "1"


def test_this_projects_own_suite_is_undisturbed() -> None:
    # Part of the project's suite, with the plugin loaded as its entry point loads it:
    # the same result as without, and no supportd server among the fixtures set up.
    tests = "tests/unit/test_layout.py"
    plain = run_pytest(ROOT, "-p", "no:supportd", "-q", tests)
    loaded = run_pytest(ROOT, *PLUGIN, "-q", "--setup-show", tests)
    assert plain.returncode == loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert "supportd_server" not in loaded.stdout
    summary = [out.stdout.splitlines()[-1].split(" in ")[0] for out in (plain, loaded)]
    assert summary[0] == summary[1]
    assert "passed" in summary[0]
