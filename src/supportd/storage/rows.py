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
from collections.abc import Callable, Sequence
from typing import Any

from supportd.domain.accounts import AccessKey, Account, AuditEntry, LimitOverrides
from supportd.domain.attachments import AttachmentRecord, AttachmentSetRecord, UploadRecord
from supportd.domain.records import CaseRecord, CommunicationRecord, NewCase
from supportd.storage import schema


def values_of(columns: str) -> Callable[[object], tuple[Any, ...]]:
    """A record's values for a column list (a field of each name), in order: an insert's
    parameters."""
    names = columns.split(", ")
    if len(names) < 2:
        # attrgetter of one name gives the value alone, not a tuple of one.
        raise ValueError("values_of needs two columns or more")
    return operator.attrgetter(*names)


# --- cases --------------------------------------------------------------------------

CASE_COLUMNS = schema.CASES.select(omit=("is_open",))
# A communication's own columns (a page of one case's: its caller knows the case id),
# and with its case's id.
OWN_COMMUNICATION_COLUMNS = schema.COMMUNICATIONS.select(
    "seq", "case_seq", "body", "submitted_by", "author_kind", "created_ms", alias="m"
)
COMMUNICATION_COLUMNS = f"{OWN_COMMUNICATION_COLUMNS}, {schema.CASES.select('case_id', alias='c')}"


def case_record(row: Sequence[Any], cc_emails: tuple[str, ...]) -> CaseRecord:
    """A CASE_COLUMNS row; `cc_emails` is column 11 as the dialect decoded it."""
    values = list(row)
    values[11] = cc_emails
    return CaseRecord(*values)


# A new case has every column of its record but seq, status and resolved_ms, which the
# insert decides: what comes before the status, and after it.
_CASE_NAMES = CASE_COLUMNS.split(", ")
_STATUS_AT = _CASE_NAMES.index("status")
_before_status = values_of(", ".join(_CASE_NAMES[1:_STATUS_AT]))
_after_status = values_of(", ".join(_CASE_NAMES[_STATUS_AT + 1 : -1]))


def created_case(seq: int, case: NewCase, status: str) -> CaseRecord:
    """The record of a case just inserted, without reading it back (on CreateCase's
    path: the getters cost no more than spelling each field out)."""
    return CaseRecord(*(seq, *_before_status(case), status, *_after_status(case), None))


def communication_record(row: Sequence[Any]) -> CommunicationRecord:
    return CommunicationRecord(*row)


def own_communication_records(
    rows: Sequence[Sequence[Any]], case_id: str
) -> list[CommunicationRecord]:
    """OWN_COMMUNICATION_COLUMNS rows of one case, made with its id."""
    # Untyped so that a row of unknown length may be followed by the case id (the
    # fields line up: tests/store/test_schema.py).
    make: Any = CommunicationRecord
    return [make(*row, case_id) for row in rows]


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
audit_values = values_of(AUDIT_COLUMNS)


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
