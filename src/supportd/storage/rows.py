"""Row -> record mapping, shared by both stores.

A record's fields are the columns it is read from, in the same order (tests/store/
test_schema.py checks each record against storage.schema), so a row maps to its record
by position, `Record(*row)`, and a record to an insert's parameters by its field names.
Only what the dialects store differently is decoded first (lists: JSON text on SQLite,
arrays on PostgreSQL; sql.decode_list). The column lists derive from storage.schema (a
name it does not declare fails at import).
"""

from __future__ import annotations

import operator
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
    values = list(row)
    values[11] = cc_emails
    return CaseRecord(*values)


def created_case(seq: int, case: NewCase, status: str) -> CaseRecord:
    """The record of a case just inserted, without reading it back (on CreateCase's
    path: spelled out, which is faster than copying the shared fields by name)."""
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
    return CommunicationRecord(*row)


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
    """An ACCOUNT_COLUMNS row: the three limit columns are the record's `limits`."""
    return Account(row[0], row[1], row[2], LimitOverrides(*row[3:6]), row[6])


def key_record(row: Sequence[Any]) -> AccessKey:
    return AccessKey(*row)


# An entry's AUDIT_COLUMNS, in order (an insert's parameters).
audit_values = operator.attrgetter(*AUDIT_COLUMNS.split(", "))


def audit_record(row: Sequence[Any]) -> AuditEntry:
    """An `AUDIT_COLUMNS, seq` row."""
    return AuditEntry(*row)


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
