"""The attachment rules both stores apply inside their transactions (domain.attachments),
tested once here: upload completion, part PUTs, set limits and expiry, what a sweep of
an abandoned upload deletes."""

from __future__ import annotations

import dataclasses

import pytest

from supportd.domain import attachments as dom
from supportd.domain.attachments import AttachmentSetRecord, PartRecord, SetRules, UploadRecord

T0 = 1_700_000_000_000
ACCOUNT = "111122223333"
RULES = SetRules(max_files=3, expiry_ms=3_600_000, creation_limit=2, window_ms=600_000)


def _upload(state: str = dom.UPLOADING, total_parts: int = 3, **changes: object) -> UploadRecord:
    upload = UploadRecord(
        seq=7,
        upload_id="upload-abc",
        account_id=ACCOUNT,
        file_name="big.bin",
        size_bytes=30,
        part_bytes=10,
        total_parts=total_parts,
        state=state,
        failure=None,
        attachment_id=None,
        completed_parts=0,
        consumed_ms=None,
        created_ms=T0,
        updated_ms=T0,
    )
    return dataclasses.replace(upload, **changes)  # type: ignore[arg-type]


def _part(index: int, *, completed: bool = False, etag: str | None = None) -> PartRecord:
    return PartRecord(index, 10, etag or f"etag{index}", f"u/upload-abc/{index}-00", completed)


# --- upload completion -------------------------------------------------------------


def test_reporting_every_part_moves_the_upload_to_processing() -> None:
    parts = [_part(1), _part(2), _part(3)]
    reported = [(3, "etag3"), (1, "etag1"), (2, "etag2")]
    done = dom.complete_upload(_upload(), parts, reported, "attachment-new")
    assert done == dom.Completion((1, 2, 3), dom.PROCESSING, "attachment-new")


def test_reporting_some_parts_keeps_the_upload_uploading() -> None:
    parts = [_part(1), _part(2), _part(3)]
    done = dom.complete_upload(_upload(), parts, [(2, "etag2")], "attachment-new")
    # Still uploading: no attachment id is given out yet.
    assert done == dom.Completion((2,), dom.UPLOADING, None)


def test_parts_reported_by_earlier_calls_count_and_are_not_marked_again() -> None:
    parts = [_part(1, completed=True), _part(2, completed=True), _part(3)]
    done = dom.complete_upload(_upload(), parts, [(3, "etag3"), (2, "etag2")], "attachment-x")
    assert done == dom.Completion((3,), dom.PROCESSING, "attachment-x")


def test_a_repeated_report_of_the_same_part_marks_it_once() -> None:
    parts = [_part(1), _part(2)]
    done = dom.complete_upload(
        _upload(total_parts=2), parts, [(1, "etag1"), (1, '"ETAG1"')], "attachment-x"
    )
    assert done == dom.Completion((1,), dom.UPLOADING, None)


def test_etags_are_compared_normalised() -> None:
    parts = [_part(1, etag="0cc175b9c0f1b6a831c399e269772661")]
    reported = [(1, '"0CC175B9C0F1B6A831C399E269772661"')]
    done = dom.complete_upload(_upload(total_parts=1), parts, reported, "attachment-x")
    assert done is not None and done.state == dom.PROCESSING


def test_all_parts_in_means_every_index_not_a_count() -> None:
    # Three rows are complete, but one is no part of 1..3: part 3 is still missing.
    parts = [_part(1, completed=True), _part(2, completed=True), _part(4, completed=True)]
    upload = _upload(total_parts=3)
    assert dom.complete_upload(upload, [*parts, _part(3)], [(1, "etag1")], "attachment-x") == (
        dom.Completion((), dom.UPLOADING, None)
    )


@pytest.mark.parametrize("state", [dom.PROCESSING, dom.READY, dom.FAILED])
def test_an_upload_past_uploading_takes_no_more_reports(state: str) -> None:
    upload = _upload(state, attachment_id="attachment-old")
    # Nothing changes, even for reports that would otherwise be refused.
    assert dom.complete_upload(upload, [], [(9, "nope")], "attachment-new") is None


@pytest.mark.parametrize(
    ("parts", "reported", "message"),
    [
        ([_part(1)], [(0, "etag0")], "Part 0 does not exist: the upload has parts 1 to 3"),
        ([_part(1)], [(4, "etag4")], "Part 4 does not exist: the upload has parts 1 to 3"),
        ([_part(1)], [(2, "etag2")], "Part 2 has not been uploaded"),
        ([_part(1)], [(1, "other")], "The eTag of part 1 does not match the uploaded part"),
        # One bad part refuses the whole call, whatever its place in the list.
        (
            [_part(1), _part(2), _part(3)],
            [(1, "etag1"), (2, "etag2"), (3, "wrong")],
            "The eTag of part 3 does not match the uploaded part",
        ),
        # A part already reported is checked again like any other.
        (
            [_part(1, completed=True), _part(2), _part(3)],
            [(1, "changed"), (2, "etag2"), (3, "etag3")],
            "The eTag of part 1 does not match the uploaded part",
        ),
    ],
)
def test_a_bad_report_is_refused(
    parts: list[PartRecord], reported: list[tuple[int, str]], message: str
) -> None:
    with pytest.raises(dom.PartProblem) as refused:
        dom.complete_upload(_upload(), parts, reported, "attachment-new")
    assert str(refused.value) == message


# --- part PUTs ---------------------------------------------------------------------


def test_a_part_may_be_put_and_put_again_while_uploading() -> None:
    dom.check_part_put(_upload(), 7, 1, None)
    dom.check_part_put(_upload(), 7, 1, _part(1))


@pytest.mark.parametrize("state", [dom.PROCESSING, dom.READY, dom.FAILED])
def test_a_part_put_after_uploading_is_refused(state: str) -> None:
    with pytest.raises(dom.UploadClosed):
        dom.check_part_put(_upload(state), 7, 1, None)


def test_a_part_put_for_a_missing_upload_is_refused() -> None:
    with pytest.raises(dom.UploadClosed):
        dom.check_part_put(None, 7, 1, None)


def test_a_part_already_reported_is_frozen() -> None:
    with pytest.raises(dom.PartFrozen):
        dom.check_part_put(_upload(), 7, 2, _part(2, completed=True))


def test_only_a_processing_upload_may_finish() -> None:
    assert dom.may_finish(_upload(dom.PROCESSING))
    assert not dom.may_finish(_upload(dom.READY))
    assert not dom.may_finish(_upload(dom.FAILED))
    assert not dom.may_finish(_upload(dom.UPLOADING))
    assert not dom.may_finish(None)


# --- sets --------------------------------------------------------------------------


def _set(**changes: object) -> AttachmentSetRecord:
    found = AttachmentSetRecord(1, "as-x", ACCOUNT, T0, T0 + RULES.expiry_ms, None, 0)
    return dataclasses.replace(found, **changes)  # type: ignore[arg-type]


def test_a_new_set_expires_after_the_configured_time() -> None:
    assert dom.set_expiry(RULES, T0) == T0 + 3_600_000


def test_the_creation_limit_counts_sets_of_the_window() -> None:
    assert dom.creation_window_start(RULES, T0) == T0 - 600_000
    assert dom.creation_window_start(dataclasses.replace(RULES, creation_limit=0), T0) is None
    dom.check_new_set(ACCOUNT, RULES, 1, 3)
    with pytest.raises(dom.AttachmentSetLimit):
        dom.check_new_set(ACCOUNT, RULES, 2, 1)
    with pytest.raises(dom.AttachmentSetFull):
        dom.check_new_set(ACCOUNT, RULES, 0, 4)
    # No limit: any number of recent sets.
    dom.check_new_set(ACCOUNT, dataclasses.replace(RULES, creation_limit=0), 1_000, 1)


def test_a_set_takes_files_until_full_used_or_expired() -> None:
    dom.check_set_for_adding(_set(file_count=1), ACCOUNT, "as-x", 2, RULES, T0)
    with pytest.raises(dom.AttachmentSetFull):
        dom.check_set_for_adding(_set(file_count=2), ACCOUNT, "as-x", 2, RULES, T0)
    with pytest.raises(dom.AttachmentSetNotFound) as missing:
        dom.check_set_for_adding(None, ACCOUNT, "as-x", 1, RULES, T0)
    assert not missing.value.used
    with pytest.raises(dom.AttachmentSetNotFound):
        dom.check_set_for_adding(_set(account_id="999999999999"), ACCOUNT, "as-x", 1, RULES, T0)
    with pytest.raises(dom.AttachmentSetNotFound) as used:
        dom.check_set_open(_set(consumed_ms=T0), ACCOUNT, "as-x", T0)
    assert used.value.used
    with pytest.raises(dom.AttachmentSetExpired):
        dom.check_set_open(_set(), ACCOUNT, "as-x", T0 + RULES.expiry_ms)
    dom.check_set_open(_set(), ACCOUNT, "as-x", T0 + RULES.expiry_ms - 1)


# --- sweeping ----------------------------------------------------------------------


def test_an_abandoned_upload_takes_its_parts_and_files_with_it() -> None:
    assert dom.abandoned_upload_blobs("upload-u", None, []) == ["u/upload-u/"]
    # The assembled file, once as a row's key and once as the key an assembly writes.
    key = dom.attachment_blob_key("attachment-abc")
    assert dom.abandoned_upload_blobs("upload-u", "attachment-abc", [key]) == [
        "u/upload-u/",
        key,
    ]
    # Processing, no row yet: the file an assembly may have written.
    assert dom.abandoned_upload_blobs("upload-u", "attachment-abc", []) == ["u/upload-u/", key]
