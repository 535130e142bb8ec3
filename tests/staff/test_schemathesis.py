"""schemathesis, every check, against a real server's staff API: 0 failures.

`st run .../staff/api/openapi.json --checks all` generates requests from the document
(valid ones, and ones that break it on purpose), sends them to a real `supportd serve`
and judges the answers: valid requests accepted, invalid ones refused, every status,
body and Content-Type as documented, 405 with Allow for undeclared methods, auth
enforced, stateful sequences (links inferred from the document). The server has an
account with a case and a staff member besides the admin, which the run's
configuration names, so that requests reach real resources.

Bounded (`--max-examples`, a fixed seed) to keep the suite fast; run `st` by hand with
more examples to explore further (tests/staff/schemathesis_hooks.py explains its two
hooks).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from supportd import cli
from supportd.http import staff_schema
from tests.support.clients import boto3_client
from tests.support.server import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "210987654321"
MAX_EXAMPLES = 6
SEED = 20261204


def _st() -> str:
    candidate = Path(sys.executable).with_name("st")
    return str(candidate) if candidate.exists() else "st"


@pytest.fixture(scope="module")
def prepared(
    request: pytest.FixtureRequest, store_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, str, Path]]:
    base = tmp_path_factory.mktemp(f"schemathesis-{store_kind}")
    database_url = ""
    if store_kind == "postgresql":
        database_url = request.getfixturevalue("postgres_databases").new_database()
        store_args = ["--database", database_url]
    else:
        store_args = ["--data-dir", str(base / "data")]
    runner = CliRunner()
    for name, role in (("admin", "admin"), ("agent", "agent")):
        made = runner.invoke(
            cli.main,
            [
                "staff",
                "create",
                name,
                "--email",
                f"{name}@example.com",
                "--role",
                role,
                *store_args,
            ],
        )
        assert made.exit_code == 0, made.output
    issued = runner.invoke(cli.main, ["staff", "token", "admin", *store_args])
    assert issued.exit_code == 0, issued.output
    server = ServerProcess(data_dir=base / "data", database_url=database_url).start()
    client = boto3_client(server.url, ACCOUNT)
    case = client.create_case(subject="schemathesis", communicationBody="a case to act on")
    display_id = client.describe_cases(caseIdList=[case["caseId"]])["cases"][0]["displayId"]
    client.close()
    config = base / "schemathesis.toml"
    # Names of real resources. Not a real check id: a seed's metadata must have as many
    # values as the check has columns, which one schema for every check cannot say.
    config.write_text(
        "[parameters]\n"
        f'"path.case" = "{display_id}"\n'
        f'"path.account" = "{ACCOUNT}"\n'
        '"path.name" = "agent"\n'
    )
    yield server, issued.output.split()[-1], config
    server.stop()


def test_schemathesis_finds_nothing(prepared: tuple[ServerProcess, str, Path]) -> None:
    server, token, config = prepared
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.staff.schemathesis_hooks",
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")]
        ),
    }
    run = subprocess.run(
        [
            _st(),
            "--config-file",
            str(config),
            "run",
            f"{server.url}/staff/api/openapi.json",
            "--url",
            f"{server.url}/staff/api",
            "--checks",
            "all",
            "--header",
            f"Authorization: Bearer {token}",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            str(SEED),
            "--no-color",
            "--warnings",
            "off",
        ],
        cwd=config.parent,  # its cache directory goes there, not into the checkout
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    assert "0 failures" in output or " passed" in output, output[-2000:]
    # Every operation of the document was exercised.
    assert f"Tested: {len(staff_schema.OPERATIONS)}" in output, output[-2000:]
    assert "Traceback" not in server.log(), server.log()[-3000:]
