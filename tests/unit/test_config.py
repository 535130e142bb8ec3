"""Settings: documented, parsed from the environment, overridden by options."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from supportd import cli, config
from supportd.config import SETTINGS, Config, Setting

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
BY_NAME = {setting.name: setting for setting in SETTINGS}


def documented_rows() -> dict[str, str]:
    """Table rows of docs/configuration.md by the environment variable they name."""
    rows: dict[str, str] = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        if line.startswith("|"):
            for env in re.findall(r"`(SUPPORTD_[A-Z0-9_]+)`", line):
                rows[env] = line
    return rows


def documented_default(setting: Setting) -> str:
    if setting.type is bool:
        return "on" if setting.default else "off"
    if setting.default == "":
        return "empty"
    return f"`{setting.default}`"


# --- documentation -------------------------------------------------------------------


def test_settings_exist() -> None:
    names = {setting.name for setting in SETTINGS}
    assert {"host", "port", "data_dir", "workers", "default_account"} <= names
    assert len(names) == len(SETTINGS)
    assert names == {f.name for f in dataclasses.fields(Config)}


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_documented(setting: Setting) -> None:
    rows = documented_rows()
    assert setting.env in rows, f"{setting.env} is missing from docs/configuration.md"
    row = rows[setting.env]
    cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
    assert len(cells) == 4, row
    option, _, default, meaning = cells
    assert re.match(rf"`{re.escape(setting.option)}`", option), row
    assert default == documented_default(setting), row
    assert meaning, row


def test_docs_name_no_setting_that_does_not_exist() -> None:
    assert set(documented_rows()) == {setting.env for setting in SETTINGS}


def test_docs_explain_defaults_and_make_run() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert "make run" in text and "./data" in text
    assert "Precedence" in text


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_setting_names(setting: Setting) -> None:
    assert setting.env == "SUPPORTD_" + setting.name.upper()
    assert re.fullmatch(r"--[a-z][a-z0-9-]*", setting.option)
    assert setting.type in (str, int, bool)
    assert type(setting.default) is setting.type
    assert setting.help.strip()


def test_cli_has_an_option_for_every_setting() -> None:
    result = CliRunner().invoke(cli.main, ["serve", "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for setting in SETTINGS:
        assert setting.option in result.output
        assert setting.env in result.output


def options_of(command: list[str]) -> set[str]:
    """The long options a command's --help lists."""
    result = CliRunner().invoke(cli.main, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return set(re.findall(r"^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)", result.output, re.MULTILINE))


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (["migrate"], {"--data-dir", "--database"}),
        (["export"], {"--output", "--data-dir", "--database", "--database-statement-timeout-ms"}),
        (["import"], {"--data-dir", "--database", "--database-statement-timeout-ms"}),
        (["accounts", "list"], {"--json", "--data-dir", "--database"}),
        (["keys", "create"], {"--data-dir", "--database", "--server-key"}),
        (
            ["demo"],
            {
                "--data-dir",
                "--database",
                "--reference-dir",
                "--advisor-checks-file",
                "--support-display-name",
                "--sla-targets",
                "--sla-business-hours",
            },
        ),
    ],
)
def test_store_commands_take_only_the_settings_they_use(
    command: list[str], options: set[str]
) -> None:
    listed = options_of(command)
    assert options <= listed
    # Nothing of serving: no listening address, workers, authentication or limits.
    assert not listed & {"--host", "--port", "--workers", "--auth", "--limits", "--log-level"}
    settings = {setting.option for setting in SETTINGS}
    assert listed & settings <= options


def test_migrate_help_is_short() -> None:
    result = CliRunner().invoke(cli.main, ["migrate", "--help"], terminal_width=100)
    assert "--workers" not in result.output
    assert len(result.output.splitlines()) < 20


# --- parsing ---------------------------------------------------------------------------


def test_defaults_without_environment() -> None:
    loaded = config.from_environ({})
    assert loaded == Config()
    assert loaded.port == 4599
    assert loaded.data_dir == "./data"
    assert loaded.sqlite_path == Path("./data") / "supportd.db"


def test_sigv4_regions() -> None:
    assert Config().regions == {"us-east-1"}  # AWS's Support endpoint
    loaded = config.from_environ({"SUPPORTD_SIGV4_REGIONS": "us-east-1, eu-west-1,"})
    assert loaded.regions == {"us-east-1", "eu-west-1"}


def test_integers_from_the_environment() -> None:
    loaded = config.from_environ(
        {"SUPPORTD_PORT": "8080", "SUPPORTD_WORKERS": "4", "SUPPORTD_MAX_BODY_BYTES": "2048"}
    )
    assert (loaded.port, loaded.workers, loaded.max_body_bytes) == (8080, 4, 2048)


@pytest.mark.parametrize("text", ["eighty", "", "80.0", "0x50", "8 080", "1e3"])
def test_bad_integers_raise_naming_the_variable(text: str) -> None:
    with pytest.raises(ValueError, match="SUPPORTD_PORT"):
        config.from_environ({"SUPPORTD_PORT": text})


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", True), ("true", True), ("TRUE", True), ("yes", True), ("on", True), (" On ", True),
     ("0", False), ("false", False), ("False", False), ("no", False), ("off", False),
     ("", False)],
)  # fmt: skip
def test_booleans_from_the_environment(text: str, expected: bool) -> None:
    assert config.from_environ({"SUPPORTD_ACCESS_LOG": text}).access_log is expected


@pytest.mark.parametrize("text", ["maybe", "2", "enabled", "y", "nope"])
def test_bad_booleans_raise_naming_the_variable(text: str) -> None:
    with pytest.raises(ValueError, match="SUPPORTD_ACCESS_LOG"):
        config.from_environ({"SUPPORTD_ACCESS_LOG": text})


def test_strings_are_taken_verbatim() -> None:
    loaded = config.from_environ(
        {
            "SUPPORTD_DATA_DIR": "/var/lib/supportd data",
            "SUPPORTD_SUPPORT_DISPLAY_NAME": "Example Corp Support",
            "SUPPORTD_DEFAULT_ACCOUNT": "000000000001",
        }
    )
    assert loaded.data_dir == "/var/lib/supportd data"
    assert loaded.support_display_name == "Example Corp Support"
    assert loaded.default_account == "000000000001"


def test_variables_of_other_programs_are_ignored() -> None:
    assert config.from_environ({"PORT": "1", "SUPPORTD": "x", "supportd_port": "1"}) == Config()


# --- precedence ------------------------------------------------------------------------


def test_overrides_win_over_the_environment() -> None:
    environ = {"SUPPORTD_PORT": "8080", "SUPPORTD_ACCESS_LOG": "1", "SUPPORTD_HOST": "0.0.0.0"}
    loaded = config.from_environ(environ, overrides={"port": 9090, "access_log": False})
    assert loaded.port == 9090
    assert loaded.access_log is False
    assert loaded.host == "0.0.0.0"  # not overridden: the environment's


def test_unset_overrides_leave_the_environment() -> None:
    # The CLI passes None for every option not given.
    overrides = {setting.name: None for setting in SETTINGS}
    loaded = config.from_environ({"SUPPORTD_PORT": "8080"}, overrides=overrides)
    assert loaded.port == 8080


def test_cli_option_wins_over_the_environment(tmp_path: Path) -> None:
    # `supportd migrate` builds its Config like serve does; it reports where it migrated.
    env_dir, cli_dir = tmp_path / "from-env", tmp_path / "from-cli"
    result = CliRunner().invoke(
        cli.main,
        ["migrate", "--data-dir", str(cli_dir)],
        env={"SUPPORTD_DATA_DIR": str(env_dir), "SUPPORTD_DATABASE_URL": ""},
    )
    assert result.exit_code == 0, result.output
    assert (cli_dir / "supportd.db").exists()
    assert not env_dir.exists()


def test_bad_environment_stops_the_cli() -> None:
    result = CliRunner().invoke(cli.main, ["migrate"], env={"SUPPORTD_PORT": "eighty"})
    assert result.exit_code != 0
    assert "SUPPORTD_PORT" in result.output


# --- checks and the worker hand-over ---------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SUPPORTD_PORT": "70000"}, "port"),
        ({"SUPPORTD_PORT": "-1"}, "port"),
        ({"SUPPORTD_WORKERS": "0"}, "workers"),
        ({"SUPPORTD_DEFAULT_ACCOUNT": "12345"}, "default_account"),
        ({"SUPPORTD_DEFAULT_ACCOUNT": "12345678901a"}, "default_account"),
        ({"SUPPORTD_MAX_BODY_BYTES": "100"}, "body limits"),
        ({"SUPPORTD_MAX_ATTACHMENT_BODY_BYTES": "0"}, "body limits"),
        ({"SUPPORTD_DATABASE_URL": "mysql://db/supportd"}, "database_url"),
        ({"SUPPORTD_AUTH": "none"}, "auth"),
        ({"SUPPORTD_LIMITS": "strict"}, "limits"),
        ({"SUPPORTD_CASE_API_TPS": "0"}, "case_api_tps"),
        ({"SUPPORTD_SERVER_KEY": "c2hvcnQ="}, "server_key"),
        ({"SUPPORTD_SIGV4_REGIONS": ""}, "sigv4_regions"),
        ({"SUPPORTD_SIGV4_REGIONS": " , "}, "sigv4_regions"),
        ({"SUPPORTD_SIGV4_REGIONS": "us-east-1,EU_WEST"}, "sigv4_regions"),
        ({"SUPPORTD_LOG_FORMAT": "xml"}, "log_format"),
        ({"SUPPORTD_SLOW_REQUEST_MS": "-1"}, "slow_request_ms"),
    ],
)
def test_out_of_range_values_raise(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config.from_environ(environ)


def test_port_zero_is_allowed() -> None:
    # Port 0 asks the OS for a free port.
    assert config.from_environ({"SUPPORTD_PORT": "0"}).port == 0


def non_default(setting: Setting) -> Any:
    special = {
        "default_account": "210987654321",
        "database_url": "postgresql://user@db.example:5432/supportd",
        "log_level": "debug",
        "log_format": "json",
        "auth": "sigv4",
        "limits": "aws",
        "server_key": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        "sla_targets": "first.high=2h,developer.next.low=2d",
        "sla_business_hours": "mon-fri 09:00-17:00 Europe/Berlin",
        "public_url": "https://support.example.com",
        "upload_max_bytes": 1_000_000,
        "upload_part_bytes": 65_536,
        "upload_urls_per_call": 5,
        "web_cookie_secure": "always",
        "smtp_url": "smtps://mailer:secret@mail.example.com:465",
        "mail_from": "Support <support@example.com>",
        "support_address": "help@example.com",
        "reply_domain": "reply.example.com",
        "eventbridge_endpoint": "https://events.example.com",
        "eventbridge_access_key_id": "AKIAEXAMPLE",
        "eventbridge_secret_access_key": "example-secret",
    }
    if setting.name in special:
        return special[setting.name]
    if setting.type is bool:
        return not setting.default
    if setting.type is int:
        return setting.default + 1
    return setting.default + "-changed"


def test_to_environ_round_trips() -> None:
    changed = Config(**{setting.name: non_default(setting) for setting in SETTINGS})
    environ = changed.to_environ()
    assert set(environ) == {setting.env for setting in SETTINGS}
    assert all(isinstance(value, str) for value in environ.values())
    assert config.from_environ(environ) == changed
    assert config.from_environ(Config().to_environ()) == Config()
