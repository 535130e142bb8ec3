"""Row -> record mapping shared by both stores' dialect modules.

The two schemas select the same columns in the same order; they differ only in how a few
are stored (SQLite keeps lists as JSON text and booleans as 0/1, PostgreSQL has arrays
and booleans). So each dialect decodes those few and passes them in; everything else is
taken from the row as selected, by position, here once. The column lists derive from
storage.schema (a name it does not declare fails at import).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from supportd.domain.accounts import AccessKey, Account, AuditEntry, LimitOverrides
from supportd.domain.attachments import AttachmentRecord, AttachmentSetRecord, UploadRecord
from supportd.domain.records import CaseRecord, CommunicationRecord, NewCase
from supportd.storage import schema

# --- cases --------------------------------------------------------------------------

CASE_COLUMNS = schema.CASES.select(omit=("is_open",))
COMMUNICATION_COLUMNS = ", ".join(
    (
        schema.COMMUNICATIONS.select("seq", "case_seq", alias="m"),
        schema.CASES.select("case_id", alias="c"),
        schema.COMMUNICATIONS.select(
            "body", "submitted_by", "author_kind", "created_ms", alias="m"
        ),
    )
)


def case_record(row: Sequence[Any], cc_emails: tuple[str, ...]) -> CaseRecord:
    """A CASE_COLUMNS row; `cc_emails` is column 11 as the dialect decoded it."""
    return CaseRecord(
        seq=row[0],
        case_id=row[1],
        account_id=row[2],
        subject=row[3],
        service_code=row[4],
        category_code=row[5],
        severity_code=row[6],
        status=row[7],
        language=row[8],
        issue_type=row[9],
        submitted_by=row[10],
        cc_emails=cc_emails,
        created_ms=row[12],
        resolved_ms=row[13],
    )


def created_case(seq: int, case: NewCase, status: str) -> CaseRecord:
    """The record of a case just inserted, without reading it back."""
    return CaseRecord(
        seq=seq,
        case_id=case.case_id,
        account_id=case.account_id,
        subject=case.subject,
        service_code=case.service_code,
        category_code=case.category_code,
        severity_code=case.severity_code,
        status=status,
        language=case.language,
        issue_type=case.issue_type,
        submitted_by=case.submitted_by,
        cc_emails=case.cc_emails,
        created_ms=case.created_ms,
        resolved_ms=None,
    )


def communication_record(row: Sequence[Any]) -> CommunicationRecord:
    return CommunicationRecord(
        seq=row[0],
        case_seq=row[1],
        case_id=row[2],
        body=row[3],
        submitted_by=row[4],
        author_kind=row[5],
        created_ms=row[6],
    )


# --- accounts, access keys, the audit trail -----------------------------------------

ACCOUNT_COLUMNS = schema.ACCOUNTS.select(omit=("seq",))
KEY_COLUMNS = schema.ACCESS_KEYS.select(omit=("seq",))
AUDIT_COLUMNS = schema.AUDIT_EVENTS.select(omit=("seq",))

# An access key and its account in one row: key_record(row[:8]), account_record(row[8:]).
CREDENTIAL_SELECT = (
    f"SELECT {schema.ACCESS_KEYS.select(omit=('seq',), alias='k')},"
    f" {schema.ACCOUNTS.select(omit=('seq',), alias='a')}"
    " FROM access_keys k JOIN accounts a ON a.account_id = k.account_id"
)


def account_record(row: Sequence[Any]) -> Account:
    return Account(
        account_id=row[0],
        email=row[1],
        plan=row[2],
        limits=LimitOverrides(row[3], row[4], row[5]),
        created_ms=row[6],
    )


def key_record(row: Sequence[Any]) -> AccessKey:
    return AccessKey(
        access_key_id=row[0],
        account_id=row[1],
        user_name=row[2],
        secret_sealed=row[3],
        session_token_hash=row[4],
        expires_ms=row[5],
        created_ms=row[6],
        revoked_ms=row[7],
    )


def audit_values(entry: AuditEntry) -> tuple[Any, ...]:
    """An entry's AUDIT_COLUMNS, in order."""
    return (
        entry.at_ms,
        entry.request_id,
        entry.account_id,
        entry.access_key_id,
        entry.caller,
        entry.operation,
        entry.source_ip,
        entry.user_agent,
        entry.http_status,
        entry.error_code,
    )


def audit_record(row: Sequence[Any]) -> AuditEntry:
    """A `seq, AUDIT_COLUMNS` row."""
    return AuditEntry(
        seq=row[0],
        at_ms=row[1],
        request_id=row[2],
        account_id=row[3],
        access_key_id=row[4],
        caller=row[5],
        operation=row[6],
        source_ip=row[7],
        user_agent=row[8],
        http_status=row[9],
        error_code=row[10],
    )


# --- attachments ----------------------------------------------------------------------
# The set and upload column lists stay per dialect: their counts are cast, and "completed"
# is a boolean in one and 0/1 in the other. What they select lines up with the records.

ATTACHMENT_COLUMNS = schema.ATTACHMENTS.select(omit=("set_seq", "position"))


def set_record(row: Sequence[Any]) -> AttachmentSetRecord:
    return AttachmentSetRecord(*row)


def attachment_record(row: Sequence[Any]) -> AttachmentRecord:
    return AttachmentRecord(*row)


def upload_record(row: Sequence[Any]) -> UploadRecord:
    return UploadRecord(*row)
