"""The built wheel, on its own: it holds every file the package reads, installs into a
clean virtual environment without the dev dependencies, serves from there, and a user's
suite with only the wheel, pytest and boto3 installed runs green through the plugin's
entry point.

Kept quick: the wheel is built once, without build isolation (`make install` brings
setuptools and build), and the environment is made without pip of its own (this pip
installs into it), without compiling what is never imported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.kit.stories import STORY
from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "supportd"

WHERE = """
import sys

import supportd


def test_supportd_is_the_installed_wheel():
    assert supportd.__file__.startswith(sys.prefix)
    assert "site-packages" in supportd.__file__
"""

WITHOUT_BOTO3 = """
import importlib.util
import sys
import urllib.request

import supportd.testing.pytest_plugin  # the plugin loads without boto3
from supportd.testing import SupportdError, SupportdServer

assert importlib.util.find_spec("boto3") is None
with SupportdServer() as srv:
    with urllib.request.urlopen(srv.endpoint_url + "/healthz") as answer:
        assert answer.status == 200
    try:
        srv.client()
    except SupportdError as exc:
        print(exc)
"""


def run(args: list[str], env: Mapping[str, str] | None = None, cwd: Path | None = None) -> str:
    result = subprocess.run(
        args, capture_output=True, text=True, env=env, cwd=cwd, timeout=600, check=False
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def clean_environment() -> dict[str, str]:
    """This environment without what points Python at the source tree or this venv."""
    dropped = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    return {
        k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("SUPPORTD_")
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # From a copy: building in the checkout would leave build/ and egg-info behind.
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src",
        source / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"),
    )
    out = tmp_path_factory.mktemp("dist")
    run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), "."],
        cwd=source,
    )
    (built,) = out.glob("supportd-*.whl")
    return built


def test_the_wheel_holds_every_file_the_package_reads(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        declared = archive.read(entry_points).decode()
    source_files = {
        "supportd/" + path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    assert source_files - names == set()
    assert "supportd/reference/data/services.json" in names
    assert "supportd/storage/migrations/0001_core.sql" in names
    assert "[pytest11]\nsupportd = supportd.testing.pytest_plugin" in declared
    assert "supportd = supportd.cli:main" in declared


def test_the_wheel_serves_alone_and_runs_a_users_suite(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = str(venv / "bin" / "python")
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-compile"]
    constraints = ["-c", str(ROOT / "constraints.txt")]
    env = clean_environment()

    # The wheel and its own dependencies, nothing of the dev extra; pytest for the plugin.
    run([*pip, *constraints, str(wheel), "pytest"], env=env)

    # `supportd serve` from the wheel answers the AWS API with its packaged reference data.
    port = free_port()
    data = tmp_path / "data"
    server = subprocess.Popen(
        [str(venv / "bin" / "supportd"), "serve", "--port", str(port), "--data-dir", str(data)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        services = _describe_services(port)
    finally:
        server.terminate()
        server.wait(30)
    assert "amazon-elastic-compute-cloud-linux" in [s["code"] for s in services]

    # The kit without boto3: the server starts; a client asks for the extra.
    said = run([python, "-c", WITHOUT_BOTO3], env=env, cwd=tmp_path)
    assert "pip install 'supportd[testing]'" in said

    # The done-when test: only the wheel, pytest and boto3; the plugin loads
    # through its entry point (no -p), supportd comes from the environment.
    run([*pip, *constraints, "boto3"], env=env)
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_story.py").write_text(STORY)
    (suite / "test_where.py").write_text(WHERE)
    out = run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"], env=env, cwd=suite
    )
    assert "4 passed" in out


def _describe_services(port: int) -> list[dict[str, str]]:
    import time

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/",
        data=b"{}",
        headers={
            "X-Amz-Target": "AWSSupport_20130415.DescribeServices",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": "AWS4-HMAC-SHA256 Credential=111122223333/20260101/us-east-1/"
            "support/aws4_request, SignedHeaders=host, Signature=0",
        },
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                services: list[dict[str, str]] = json.loads(answer.read())["services"]
                return services
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
