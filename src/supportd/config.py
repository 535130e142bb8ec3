"""Every setting, declared once in Config: name, type, default and help.

Each field of Config is a setting; its environment variable is SUPPORTD_<NAME> and its
CLI option --<name>, unless the field spells its own (database_url is --database). The
CLI builds its options from SETTINGS and a test checks docs/configuration.md against it,
so a setting cannot exist undocumented.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import re
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from supportd.domain import sla
from supportd.domain.hosts import is_loopback_name


def _setting(default: Any, help: str, option: str = "") -> Any:
    """A setting; `option` spells its CLI option when --<name> is not the natural one."""
    return field(default=default, metadata={"help": help, "option": option})


@dataclass(frozen=True, slots=True)
class Config:
    host: str = _setting("127.0.0.1", "Address to listen on.")
    port: int = _setting(4599, "TCP port to listen on.")
    data_dir: str = _setting(
        "./data", "Directory for the SQLite database (supportd.db) and blobs; created if missing."
    )
    database_url: str = _setting(
        "",
        "A postgresql:// URL: use PostgreSQL instead of the SQLite store in data-dir.",
        option="--database",
    )
    database_pool_size: int = _setting(
        10, "PostgreSQL: connections each server process keeps open at most."
    )
    database_statement_timeout_ms: int = _setting(
        30_000, "PostgreSQL: a statement running longer than this is cancelled (0: no limit)."
    )
    workers: int = _setting(1, "Number of server processes sharing the port.")
    default_account: str = _setting(
        "123456789012",
        "Open mode: the account of requests whose access key is not a 12-digit account id.",
    )
    account_email_domain: str = _setting(
        "example.com", "Open mode: an account's e-mail address is account-<id>@<domain>."
    )
    auth: str = _setting(
        "open",
        "How requests are authenticated: open (the access key id names the account and "
        "nothing is checked: for local testing) or sigv4 (a valid AWS Signature Version 4 "
        "by a key made with `supportd keys create`).",
    )
    allow_open_on_network: bool = _setting(
        False,
        "Let open mode listen on an address other than loopback (refused otherwise: "
        "anyone who reaches it can act as any account).",
    )
    sigv4_regions: str = _setting(
        "us-east-1",
        "SigV4 mode: the regions a credential scope may name, comma-separated (AWS's "
        "Support endpoint is us-east-1; InvalidSignatureException for any other).",
    )
    server_key: str = _setting(
        "",
        "Key that encrypts access keys' secrets at rest (32 bytes, base64). Empty: the "
        "server.key file in data-dir, made on first use. Nodes sharing a database, and "
        "the CLI, must use the same key.",
    )
    limits: str = _setting(
        "auto",
        "Quotas and throttling: aws (AWS's quotas, the three settings below), none, or "
        "auto (none in open mode, aws in sigv4 mode). Per-account limits override them.",
    )
    case_creation_limit: int = _setting(
        10, "With limits aws: cases an account may create per hour (CaseCreationLimitExceeded)."
    )
    case_api_tps: int = _setting(
        5,
        "With limits aws: case API requests per second per account and server process "
        "(ThrottlingException above it).",
    )
    advisor_api_tps: int = _setting(
        100, "With limits aws: Trusted Advisor requests per second per account and process."
    )
    auth_cache_ms: int = _setting(
        1000,
        "How long each process keeps an access key or account it looked up (0: not at all): "
        "revocations, plan and limit changes apply within this time.",
    )
    reference_dir: str = _setting(
        "",
        "Directory with the operator's own reference data files, each replacing the default "
        "of the same name (services.json, severity_levels.json, languages.json, "
        "create_case_options.json).",
    )
    support_display_name: str = _setting(
        "Amazon Web Services", "Author shown on communications written by support staff."
    )
    sla_targets: str = _setting(
        "",
        "SLA response targets replacing the defaults (24h, 12h, 4h, 1h, 15m for low ..."
        " critical, first and next response alike): comma-separated"
        " [PLAN.]first|next.SEVERITY=DURATION, e.g. first.high=2h,developer.first.low=48h.",
    )
    sla_business_hours: str = _setting(
        "",
        "When SLA clocks tick, e.g. `mon-fri 09:00-17:00 Europe/Berlin`; empty: around the clock.",
    )
    auto_resolve_after_hours: int = _setting(
        120,
        "Resolve a case left in pending-customer-action this long (a background job); 0: never.",
    )
    fake_clock_file: str = _setting(
        "",
        "Testing only: a file holding an offset in milliseconds that supportd adds to the"
        " system clock, re-read when it changes. Empty: the real clock.",
    )
    max_body_bytes: int = _setting(
        1_048_576, "Largest request body of operations without file data (HTTP 413 above it)."
    )
    max_attachment_body_bytes: int = _setting(
        26_214_400, "Largest request body of AddAttachmentsToSet (3 files of 5 MB in base64)."
    )
    max_large_bodies: int = _setting(
        4,
        "Request bodies larger than max-body-bytes (AddAttachmentsToSet's) each server "
        "process reads and handles at once; more wait up to 2 s, then get "
        "ThrottlingException.",
    )
    public_url: str = _setting(
        "",
        "Base URL of the presigned attachment links (e.g. https://support.example.com). "
        "Empty: the scheme and Host of the request that asks for the link.",
    )
    attachment_file_bytes: int = _setting(
        5_242_880,
        "Largest file in an attachment set; also the size up to which DescribeAttachment "
        "returns a file and communications list it in attachmentSet.",
    )
    attachment_set_files: int = _setting(3, "Files an attachment set holds at most.")
    attachment_set_expiry_s: int = _setting(
        3600, "An attachment set expires this many seconds after its creation."
    )
    attachment_set_limit: int = _setting(
        100,
        "Attachment sets an account may create per attachment-set-limit-window-s "
        "(AttachmentLimitExceeded above it; 0: no limit).",
    )
    attachment_set_limit_window_s: int = _setting(
        3600, "The window of attachment-set-limit, in seconds."
    )
    describe_attachment_limit: int = _setting(
        60,
        "DescribeAttachment calls an account may make per minute and server process "
        "(DescribeAttachmentLimitExceeded above it; 0: no limit).",
    )
    upload_max_bytes: int = _setting(
        157_286_400, "Largest file of a large-file upload (GetAttachmentUploadLinks)."
    )
    upload_open_limit: int = _setting(
        10,
        "Large-file uploads an account may have open at once: begun and not yet attached "
        "to a communication nor deleted by the sweeper (AttachmentLimitExceeded above it; "
        "0: no limit). Applies in every auth mode and with any --limits.",
    )
    upload_open_bytes: int = _setting(
        1_572_864_000,
        "Bytes (fileSizeBytes) an account's open large-file uploads may announce in all "
        "(AttachmentLimitExceeded above it; 0: no limit). Applies in every auth mode and "
        "with any --limits.",
    )
    upload_part_bytes: int = _setting(
        104_857_600,
        "Part size of large-file uploads (at most 104857600; a file of more than 10,000 "
        "parts gets larger parts).",
    )
    upload_urls_per_call: int = _setting(
        10, "Upload URLs GetAttachmentUploadLinks returns at most per call (at most 10)."
    )
    attachment_link_expiry_s: int = _setting(
        3600, "Presigned upload and download links expire after this many seconds."
    )
    upload_expiry_s: int = _setting(
        86_400,
        "An upload not attached to a communication this many seconds after it began is "
        "deleted by the sweeper, with its parts.",
    )
    attachment_sweep_interval_s: int = _setting(
        300, "How often the sweeper removes expired attachment sets and abandoned uploads."
    )
    advisor_checks_file: str = _setting(
        "",
        "A JSON file of the operator's own Trusted Advisor checks, merged into the built-in "
        "catalogue by check id (a known id changes that check, a new id adds one).",
    )
    advisor_refresh_interval_ms: int = _setting(
        300_000,
        "Trusted Advisor: least time between two refreshes of one check for one account "
        "(millisUntilNextRefreshable counts it down).",
    )
    advisor_refresh_timeout_ms: int = _setting(
        30_000,
        "Trusted Advisor: a check provider still running after this long is abandoned "
        "(at most 300000).",
    )
    smtp_url: str = _setting(
        "",
        "Notifications: the SMTP server that sends e-mail, smtp://[user:password@]host:port"
        " (smtps:// for TLS from the start, ?starttls=true for STARTTLS). Empty: no e-mail.",
    )
    mail_from: str = _setting(
        "",
        "Notifications: the From address of e-mail (e.g. `Support <support@example.com>`),"
        " also the envelope sender; needed with smtp-url.",
    )
    support_address: str = _setting(
        "",
        "Notifications: the support team's address, named in e-mails; their Reply-To"
        " when reply-domain is empty.",
    )
    reply_domain: str = _setting(
        "",
        "Notifications: e-mails get the Reply-To case+<signed token>@<this domain>, an"
        " address that names the case. Empty: no such address.",
    )
    mail_templates: str = _setting(
        "",
        "Notifications: a directory of the operator's e-mail templates (<language>/"
        "case_update.txt and .html, Jinja2), each replacing or adding to the built-in ones.",
    )
    notify_max_attempts: int = _setting(
        8, "Notifications: attempts per delivery before it is parked as failed."
    )
    notify_backoff_ms: int = _setting(
        2000,
        "Notifications: wait after the first failed attempt; it doubles after each further"
        " one, up to notify-backoff-max-ms.",
    )
    notify_backoff_max_ms: int = _setting(
        3_600_000, "Notifications: the longest wait between two attempts."
    )
    notify_timeout_ms: int = _setting(
        10_000,
        "Notifications: an attempt (SMTP conversation, webhook request, PutEvents call) still"
        " unanswered after this long has failed.",
    )
    notify_worker: bool = _setting(
        True,
        "Deliver notifications from this node (with background-worker), in a child"
        " process of serve at notify-nice. Off: this node only writes them to the outbox,"
        " and nodes with it on deliver them.",
    )
    notify_concurrency: int = _setting(
        16, "Notifications: deliveries each server process attempts at once at most."
    )
    notify_nice: int = _setting(
        10,
        "Notifications: `serve` delivers in a process of its own, beside the API's, at this"
        " niceness (0-19; higher yields more CPU to the API when both are busy).",
    )
    inbound_smtp_port: int = _setting(
        0,
        "E-mail in: listen for SMTP on this port (on --host) for replies an MTA routes to"
        " supportd (to case+...@<reply-domain> or support-address). 0: no listener.",
    )
    inbound_max_bytes: int = _setting(
        10_485_760, "E-mail in: the largest message accepted (552 above it)."
    )
    eventbridge_bus: str = _setting(
        "",
        "Notifications: the EventBridge event bus (name or ARN) that receives every event"
        " through PutEvents. Empty: none.",
    )
    eventbridge_endpoint: str = _setting(
        "",
        "Notifications: the EventBridge endpoint URL (any compatible server). Empty: AWS's"
        " for eventbridge-region.",
    )
    eventbridge_region: str = _setting("us-east-1", "Notifications: EventBridge's region.")
    eventbridge_access_key_id: str = _setting(
        "",
        "Notifications: the access key for PutEvents. Empty: botocore's usual credential"
        " chain (environment, profile, instance role).",
    )
    eventbridge_secret_access_key: str = _setting(
        "", "Notifications: the secret of eventbridge-access-key-id."
    )
    eventbridge_source: str = _setting(
        "aws.support",
        "Notifications: the events' source on the EventBridge bus. AWS reserves `aws.`"
        " sources for itself: a real EventBridge needs another (e.g. supportd.support).",
    )
    log_level: str = _setting("info", "Log level: debug, info, warning or error.")
    access_log: bool = _setting(
        False, "Write one log line per request (off by default: it costs throughput)."
    )
    client_header_timeout_s: int = _setting(
        10,
        "A request's head (request line and headers) must arrive within this many seconds "
        "of its first byte, or of the connection's opening; else the connection is closed "
        "(idle and slowloris connections; 0: no limit).",
    )
    log_format: str = _setting(
        "text",
        "Log lines as text, or as json: one object per line (time, level, logger, message, "
        "request_id and the line's own fields).",
    )
    slow_request_ms: int = _setting(
        1000,
        "Log a request that took longer than this, with its operation, as a warning (0: never).",
    )
    metrics: bool = _setting(
        True,
        "Serve Prometheus metrics at /metrics (counts and latencies by operation, queue "
        "and pool use, backlogs; no account data).",
    )
    background_worker: bool = _setting(
        True,
        "Run the background worker (sweepers, auto-resolve, upload processing, Trusted "
        "Advisor refreshes) in this process; jobs run once across all nodes either way.",
    )
    worker_poll_ms: int = _setting(
        500, "How often the background worker looks for due jobs, in milliseconds."
    )

    web_cookie_secure: str = _setting(
        "auto",
        "Support Center sessions: the cookie's Secure attribute: auto (when the request came "
        "over https or public-url is https), always, or never.",
    )
    web_session_idle_s: int = _setting(
        28_800, "Web sessions (Support Center, staff console) end after this many idle seconds."
    )
    web_session_max_s: int = _setting(
        604_800, "Web sessions (Support Center, staff console) end this long after sign-in."
    )
    web_sign_in_window_s: int = _setting(
        900, "Sign-in throttling: failed attempts count for this many seconds."
    )
    web_sign_in_max_per_address: int = _setting(
        30, "Sign-in throttling: failed attempts from one address within the window."
    )
    web_sign_in_max_per_user: int = _setting(
        5, "Sign-in throttling: failed attempts for one e-mail address within the window."
    )
    web_invite_expiry_s: int = _setting(
        259_200, "A one-time sign-in link (`supportd users create --invite`) expires after this."
    )
    web_console_poll_s: int = _setting(
        10,
        "The staff console's queue asks for new and changed cases this often (seconds) while"
        " it is open with JavaScript on; 0: never (a reload shows them).",
    )

    @property
    def sqlite_path(self) -> Path:
        return Path(self.data_dir) / "supportd.db"

    @property
    def regions(self) -> frozenset[str]:
        """The regions of sigv4_regions."""
        return frozenset(r.strip() for r in self.sigv4_regions.split(",") if r.strip())

    @property
    def aws_limits(self) -> bool:
        """Whether AWS's quotas apply (--limits, or its default for the auth mode)."""
        return self.limits == "aws" or (self.limits == "auto" and self.auth == "sigv4")

    def to_environ(self) -> dict[str, str]:
        """The settings as SUPPORTD_* variables: how worker processes receive them."""
        return {s.env: _to_text(getattr(self, s.name)) for s in SETTINGS}


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    type: type
    default: Any
    help: str
    cli_option: str = ""

    @property
    def env(self) -> str:
        return "SUPPORTD_" + self.name.upper()

    @property
    def option(self) -> str:
        return self.cli_option or "--" + self.name.replace("_", "-")


_TYPES: dict[str, type] = {"str": str, "int": int, "bool": bool}

SETTINGS: tuple[Setting, ...] = tuple(
    Setting(f.name, _TYPES[str(f.type)], f.default, f.metadata["help"], f.metadata["option"])
    for f in fields(Config)
    if f.default is not MISSING
)


def _to_text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _parse(setting: Setting, text: str) -> Any:
    if setting.type is bool:
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"{setting.env}: expected a boolean, got {text!r}")
    if setting.type is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{setting.env}: expected an integer, got {text!r}") from None
    return text


def from_environ(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Config:
    """Defaults, then SUPPORTD_* variables, then explicit overrides (CLI options)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.env in environ:
            values[setting.name] = _parse(setting, environ[setting.env])
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = value
    config = Config(**values)
    check(config)
    return config


def sla_policy(config: Config) -> sla.SlaPolicy:
    """The SLA settings (targets and business hours) parsed: once per distinct value."""
    return _parsed_sla_policy(config.sla_targets, config.sla_business_hours)


@functools.cache
def _parsed_sla_policy(targets: str, business_hours: str) -> sla.SlaPolicy:
    return sla.policy(targets, business_hours)


def check(config: Config) -> None:
    try:
        sla_policy(config)
    except sla.SlaSettingError as exc:
        raise ValueError(str(exc)) from None
    if config.auto_resolve_after_hours < 0:
        raise ValueError("auto_resolve_after_hours must not be negative")
    if not (0 <= config.port <= 65535):
        raise ValueError("port must be between 0 and 65535")
    if config.log_format not in LOG_FORMATS:
        raise ValueError(f"log_format must be one of {', '.join(LOG_FORMATS)}")
    if config.client_header_timeout_s < 0:
        raise ValueError("client_header_timeout_s must not be negative")
    if config.slow_request_ms < 0:
        raise ValueError("slow_request_ms must not be negative")
    if config.worker_poll_ms < 10:
        raise ValueError("worker_poll_ms must be at least 10")
    if config.workers < 1:
        raise ValueError("workers must be at least 1")
    if not (config.default_account.isdigit() and len(config.default_account) == 12):
        raise ValueError("default_account must be a 12-digit account id")
    if config.max_body_bytes < 1024 or config.max_attachment_body_bytes < 1024:
        raise ValueError("body limits must be at least 1024 bytes")
    if config.max_large_bodies < 1:
        raise ValueError("max_large_bodies must be at least 1")
    if config.database_pool_size < 1:
        raise ValueError("database_pool_size must be at least 1")
    if config.database_statement_timeout_ms < 0:
        raise ValueError("database_statement_timeout_ms must not be negative")
    if config.database_url and not config.database_url.startswith(("postgresql://", "postgres://")):
        raise ValueError("database_url must be a postgresql:// URL")
    if config.auth not in AUTH_MODES:
        raise ValueError(f"auth must be one of {', '.join(AUTH_MODES)}")
    if config.limits not in LIMIT_PROFILES:
        raise ValueError(f"limits must be one of {', '.join(LIMIT_PROFILES)}")
    if min(config.case_creation_limit, config.case_api_tps, config.advisor_api_tps) < 1:
        raise ValueError("case_creation_limit, case_api_tps and advisor_api_tps must be at least 1")
    if not config.regions or not all(_REGION.fullmatch(r) for r in config.regions):
        raise ValueError("sigv4_regions must list region names such as us-east-1")
    if config.auth_cache_ms < 0:
        raise ValueError("auth_cache_ms must not be negative")
    if config.server_key and not _is_key(config.server_key):
        raise ValueError("server_key must be 32 bytes in base64")
    if config.advisor_refresh_interval_ms < 0:
        raise ValueError("advisor_refresh_interval_ms must not be negative")
    if not 10 <= config.advisor_refresh_timeout_ms <= 300_000:
        raise ValueError("advisor_refresh_timeout_ms must be between 10 and 300000")
    _check_attachments(config)
    _check_web(config)
    _check_notifications(config)


def _check_web(config: Config) -> None:
    if config.web_cookie_secure not in COOKIE_SECURE_MODES:
        raise ValueError(f"web_cookie_secure must be one of {', '.join(COOKIE_SECURE_MODES)}")
    positive = (
        "web_session_idle_s",
        "web_session_max_s",
        "web_sign_in_window_s",
        "web_sign_in_max_per_address",
        "web_sign_in_max_per_user",
        "web_invite_expiry_s",
    )
    for name in positive:
        if getattr(config, name) < 1:
            raise ValueError(f"{name} must be at least 1")
    if not 0 <= config.web_console_poll_s <= 3600:
        raise ValueError("web_console_poll_s must be between 0 and 3600")


def _check_notifications(config: Config) -> None:
    from supportd.domain import mail  # pure rules, no I/O: the mail settings' syntax

    if config.smtp_url:
        try:
            mail.parse_smtp_url(config.smtp_url)
        except mail.MailSettingError as exc:
            raise ValueError(str(exc)) from None
        if not mail.address_domain(config.mail_from):
            raise ValueError("mail_from must be an e-mail address when smtp_url is set")
    if config.support_address and not mail.address_domain(config.support_address):
        raise ValueError("support_address must be an e-mail address")
    if config.reply_domain and not mail.valid_domain(config.reply_domain):
        raise ValueError("reply_domain must be a domain name, e.g. support.example.com")
    if config.notify_max_attempts < 1:
        raise ValueError("notify_max_attempts must be at least 1")
    if config.notify_backoff_ms < 1 or config.notify_backoff_max_ms < config.notify_backoff_ms:
        raise ValueError("notify_backoff_ms must be at least 1 and at most notify_backoff_max_ms")
    if not 10 <= config.notify_timeout_ms <= 600_000:
        raise ValueError("notify_timeout_ms must be between 10 and 600000")
    if not 1 <= config.notify_concurrency <= 1000:
        raise ValueError("notify_concurrency must be between 1 and 1000")
    if not 0 <= config.notify_nice <= 19:
        raise ValueError("notify_nice must be between 0 and 19")
    if config.eventbridge_endpoint and not config.eventbridge_endpoint.startswith(
        ("http://", "https://")
    ):
        raise ValueError("eventbridge_endpoint must start with http:// or https://")
    if bool(config.eventbridge_access_key_id) != bool(config.eventbridge_secret_access_key):
        raise ValueError("eventbridge_access_key_id and eventbridge_secret_access_key go together")
    if not 0 <= config.inbound_smtp_port <= 65535:
        raise ValueError("inbound_smtp_port must be between 0 and 65535")
    if config.inbound_smtp_port and not (config.reply_domain or config.support_address):
        raise ValueError("inbound_smtp_port needs reply_domain or support_address")
    if config.inbound_max_bytes < 1024:
        raise ValueError("inbound_max_bytes must be at least 1024")
    if not config.eventbridge_source.strip():
        raise ValueError("eventbridge_source must not be empty")


def _check_attachments(config: Config) -> None:
    if config.public_url and not config.public_url.startswith(("http://", "https://")):
        raise ValueError("public_url must start with http:// or https://")
    if not 1 <= config.upload_part_bytes <= 104_857_600:
        raise ValueError("upload_part_bytes must be between 1 and 104857600")
    if not 1 <= config.upload_max_bytes <= 157_286_400:
        raise ValueError("upload_max_bytes must be between 1 and 157286400")
    if not 1 <= config.upload_urls_per_call <= 10:
        raise ValueError("upload_urls_per_call must be between 1 and 10")
    positive = (
        "attachment_file_bytes",
        "attachment_set_files",
        "attachment_set_expiry_s",
        "attachment_set_limit_window_s",
        "attachment_link_expiry_s",
        "upload_expiry_s",
        "attachment_sweep_interval_s",
    )
    for name in positive:
        if getattr(config, name) < 1:
            raise ValueError(f"{name} must be at least 1")
    if config.attachment_set_limit < 0 or config.describe_attachment_limit < 0:
        raise ValueError("attachment_set_limit and describe_attachment_limit must not be negative")
    if config.upload_open_limit < 0 or config.upload_open_bytes < 0:
        raise ValueError("upload_open_limit and upload_open_bytes must not be negative")


AUTH_MODES = ("open", "sigv4")
_REGION = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
LIMIT_PROFILES = ("auto", "aws", "none")
COOKIE_SECURE_MODES = ("auto", "always", "never")
LOG_FORMATS = ("text", "json")


def _is_key(text: str) -> bool:
    try:
        return len(base64.b64decode(text.strip(), validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def open_loopback_only(config: Config) -> bool:
    """Whether open mode keeps to this machine: requests must arrive on a loopback
    address and name a loopback Host (not with --allow-open-on-network)."""
    return config.auth == "open" and not config.allow_open_on_network


def exposure_problem(config: Config) -> str | None:
    """Why this configuration must not serve: open mode on a network address."""
    if open_loopback_only(config) and not is_loopback_name(config.host):
        return (
            f"refusing to serve open mode (no authentication) on {config.host}: use "
            "--auth sigv4, listen on a loopback address, or pass --allow-open-on-network"
        )
    return None
