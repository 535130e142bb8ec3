"""Trusted Advisor's pure parts: the catalogue loader and its merge rules, the result
format, and the refresh rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from supportd.domain import advisor
from supportd.domain.advisor import InvalidResult, RefreshRecord
from supportd.reference import advisor as checks
from supportd.reference.catalogue import ReferenceDataError

T0 = 1_700_000_000_000


def operator_file(tmp_path: Path, document: Any) -> str:
    path = tmp_path / "checks.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def test_the_builtin_catalogue() -> None:
    catalogue = checks.load()
    assert len(catalogue) == 130
    assert catalogue.languages[:3] == ("zh", "zh_TW", "en")
    assert {c.category for c in catalogue.checks} == set(checks.CATEGORIES)
    assert sum(c.auto_refresh for c in catalogue.checks) == 8
    key_rotation = catalogue.get("DqdJqYeRm5")
    assert key_rotation is not None and key_rotation.name == "IAM Access Key Rotation"
    assert key_rotation.in_language("ja") is key_rotation.text


def test_an_operator_file_merges_by_id(tmp_path: Path) -> None:
    catalogue = checks.load(
        operator_file(
            tmp_path,
            {
                "languages": ["xx_YY"],
                "checks": [
                    {"id": "Pfx0RwqBli", "autoRefresh": True},
                    {
                        "id": "Pfx0RwqBli2",
                        "name": "Mine",
                        "category": "operational_excellence",
                        "description": "d",
                        "metadata": ["A"],
                        "translations": {"xx_YY": {"name": "Meins"}},
                    },
                ],
            },
        )
    )
    assert len(catalogue) == 131
    s3 = catalogue.get("Pfx0RwqBli")
    assert s3 is not None and s3.auto_refresh and s3.name == "Amazon S3 Bucket Permissions"
    mine = catalogue.get("Pfx0RwqBli2")
    assert mine is not None and catalogue.checks[-1] is mine
    assert mine.in_language("xx_YY").name == "Meins"
    assert mine.in_language("xx_YY").metadata == ("A",)
    assert "xx_YY" in catalogue.languages


def test_new_columns_drop_translations_that_no_longer_fit(tmp_path: Path) -> None:
    first = {"id": "DqdJqYeRm5", "translations": {"ja": {"name": "キー"}}}
    base = checks.load(operator_file(tmp_path, {"checks": [first]}))
    translated = base.get("DqdJqYeRm5")
    assert translated is not None and "ja" in translated.translations
    changed = {"id": "DqdJqYeRm5", "metadata": ["Only"], "translations": {}}
    reloaded = checks.load(operator_file(tmp_path, {"checks": [first, changed][1:]}))
    check = reloaded.get("DqdJqYeRm5")
    assert check is not None and check.metadata == ("Only",) and not check.translations


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({}, 'expected {"checks"'),
        ({"checks": [{"id": "Z4AUBRNSmz"}, {"id": "Z4AUBRNSmz"}]}, "appears twice"),
        (
            {"checks": [{"id": "new1", "name": "n", "category": "c", "description": "d"}]},
            "metadata",
        ),
        ({"checks": [{"id": "Z4AUBRNSmz", "category": "Cost"}]}, "lowercase identifier"),
        ({"checks": [{"id": "Z4AUBRNSmz", "autoRefresh": "yes"}]}, "true or false"),
        ({"checks": [{"id": "Z4AUBRNSmz", "metadata": [1]}]}, "list of column names"),
        ({"languages": ["english"], "checks": []}, "'languages'"),
        (
            {"checks": [{"id": "Z4AUBRNSmz", "translations": {"ja": {"metadata": ["x"]}}}]},
            "as many columns",
        ),
    ],
)
def test_unusable_operator_files_are_refused(tmp_path: Path, document: Any, problem: str) -> None:
    with pytest.raises(ReferenceDataError, match=problem):
        checks.load(operator_file(tmp_path, document))


def test_a_missing_operator_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReferenceDataError, match="No such file"):
        checks.load(str(tmp_path / "absent.json"))


# --- results ---------------------------------------------------------------------------


def parse(data: Any, columns: int = 2, cost: bool = False) -> advisor.CheckResult:
    return advisor.parse_result(
        data,
        account_id="111122223333",
        check_id="Z4AUBRNSmz",
        columns=columns,
        cost_optimizing=cost,
        now_ms=T0 + 123,
        source=advisor.SEEDED,
    )


def resource(status: str, suppressed: bool = False) -> dict[str, Any]:
    return {"status": status, "resourceId": "r", "isSuppressed": suppressed, "metadata": ["a", "b"]}


def test_derived_members() -> None:
    result = parse({"flaggedResources": [resource("warning"), resource("error", True)]}, cost=True)
    assert result.status == "warning"  # the suppressed error does not count
    assert result.timestamp_ms == T0  # whole seconds
    assert (result.resources_processed, result.resources_flagged) == (2, 1)
    assert result.resources_suppressed == 1
    assert (result.monthly_savings, result.percent_savings) == (0.0, 0.0)
    assert parse({}).status == "ok" and parse({}).monthly_savings is None


def test_given_members_win() -> None:
    result = parse(
        {
            "status": "not_available",
            "timestamp": "2024-05-13T21:38:05+02:00",
            "resourcesSummary": {"resourcesProcessed": 9, "resourcesFlagged": 0},
            "categorySpecificSummary": {"costOptimizing": {"estimatedPercentMonthlySavings": 2}},
        },
        cost=True,
    )
    assert result.status == "not_available"
    assert result.timestamp_ms == 1_715_629_085_000
    assert (result.resources_processed, result.resources_flagged) == (9, 0)
    assert result.percent_savings == 2.0 and isinstance(result.percent_savings, float)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([], "must be a JSON object"),
        ({"flaggedResources": {}}, "must be a list"),
        ({"flaggedResources": [{**resource("warning"), "status": "warn"}]}, "status must be"),
        ({"flaggedResources": [{**resource("ok"), "resourceId": ""}]}, "resourceId"),
        ({"flaggedResources": [{**resource("ok"), "isSuppressed": 1}]}, "isSuppressed"),
        ({"flaggedResources": [{**resource("ok"), "region": 5}]}, "region"),
        ({"flaggedResources": [{**resource("ok"), "metadata": ["a\x00", "b"]}]}, "strings"),
        ({"timestamp": "10000-01-01T00:00:00Z"}, "not a time"),
        ({"timestamp": "1969-12-31T23:59:59Z"}, "between 1970 and 9999"),
        ({"resourcesSummary": {"resourcesFlagged": True}}, "whole number"),
        ({"resourcesSummary": {"resourcesFlagged": 2**63}}, "whole number"),
        ({"resourcesSummary": {"flagged": 1}}, "unknown member"),
        ({"result": {"status": "ok"}, "x": 1}, "unknown member 'result'"),
    ],
)
def test_invalid_results(data: Any, problem: str) -> None:
    with pytest.raises(InvalidResult, match=problem):
        parse(data)


@pytest.mark.parametrize("amount", [-1, float("inf"), "1", None, True])
def test_invalid_savings(amount: Any) -> None:
    with pytest.raises(InvalidResult):
        parse(
            {"categorySpecificSummary": {"costOptimizing": {"estimatedMonthlySavings": amount}}},
            cost=True,
        )


def test_flagged_resources_round_trip_through_json() -> None:
    result = parse(
        {"flaggedResources": [{**resource("ok"), "region": "eu-west-1"}, resource("error")]}
    )
    encoded = advisor.flagged_to_json(result.flagged)
    assert "region" not in encoded[1]
    assert advisor.flagged_from_json(json.loads(json.dumps(encoded))) == result.flagged


# --- refreshes --------------------------------------------------------------------------


def record(status: str, requested: int = T0, updated: int = T0) -> RefreshRecord:
    return RefreshRecord("111122223333", "Z4AUBRNSmz", status, requested, updated)


def test_refresh_view() -> None:
    minute = 60_000
    assert advisor.refresh_view(None, T0, minute, 10 * minute) == ("none", 0)
    assert advisor.refresh_view(record("success"), T0 + 1000, minute, 10 * minute) == (
        "success",
        59_000,
    )
    assert advisor.refresh_view(record("processing"), T0 + 10 * minute, minute, 10 * minute) == (
        "processing",
        0,
    )
    stale = advisor.refresh_view(record("enqueued"), T0 + 10 * minute + 1, minute, 10 * minute)
    assert stale == ("abandoned", 0)
    assert advisor.refresh_view(record("abandoned"), T0 + 10**9, minute, minute)[0] == "abandoned"


def test_may_refresh() -> None:
    minute = 60_000
    assert advisor.may_refresh(None, T0, minute, 10 * minute)
    assert not advisor.may_refresh(record("success"), T0 + minute - 1, minute, 10 * minute)
    assert advisor.may_refresh(record("success"), T0 + minute, minute, 10 * minute)
    assert advisor.may_refresh(record("abandoned"), T0 + minute, minute, 10 * minute)
    assert not advisor.may_refresh(record("abandoned"), T0 + minute - 1, minute, 10 * minute)
    assert not advisor.may_refresh(record("processing"), T0 + 5 * minute, minute, 10 * minute)
    assert not advisor.may_refresh(record("enqueued"), T0 + 10 * minute, minute, 10 * minute)
    assert advisor.may_refresh(record("processing"), T0 + 11 * minute, minute, 10 * minute)
    # Staleness counts from the last change, the interval from the request.
    moving = record("processing", requested=T0, updated=T0 + 9 * minute)
    assert not advisor.may_refresh(moving, T0 + 11 * minute, minute, 10 * minute)
    assert advisor.may_refresh(moving, T0 + 19 * minute + 1, minute, 10 * minute)
    # With no minimum interval, only an unfinished refresh holds a new one back.
    assert advisor.may_refresh(record("success"), T0, 0, 10 * minute)
    assert not advisor.may_refresh(record("enqueued"), T0, 0, 10 * minute)


def test_requested_refresh() -> None:
    minute = 60_000
    account, check = "111122223333", "Z4AUBRNSmz"

    def request(latest: RefreshRecord | None, now: int) -> tuple[RefreshRecord, bool]:
        return advisor.requested_refresh(latest, account, check, now, minute, 10 * minute)

    # The first request starts one: enqueued, requested and changed now.
    assert request(None, T0) == (RefreshRecord(account, check, "enqueued", T0, T0), True)
    # A refused request answers the latest refresh unchanged.
    for latest, now in (
        (record("success"), T0 + minute - 1),
        (record("enqueued"), T0 + 2 * minute),
        (record("processing"), T0 + 10 * minute),
    ):
        assert request(latest, now) == (latest, False)
    # Past the interval after a finished one, or past staleness of an unfinished one, a
    # new refresh replaces it.
    after = T0 + minute
    assert request(record("abandoned"), after) == (
        RefreshRecord(account, check, "enqueued", after, after),
        True,
    )
    stale = T0 + 10 * minute + 1
    assert request(record("processing"), stale) == (
        RefreshRecord(account, check, "enqueued", stale, stale),
        True,
    )


def test_auto_refreshed_checks_are_not_refreshable() -> None:
    advisor.check_refreshable("Z4AUBRNSmz", False)
    with pytest.raises(advisor.NotRefreshable, match="Pfx0RwqBli is refreshed automatically"):
        advisor.check_refreshable("Pfx0RwqBli", True)


def test_a_refresh_reads_as_abandoned_after_every_claim_could_have_run() -> None:
    # Base, plus three claims each running the provider to its timeout plus the margin.
    assert advisor.stale_ms(30_000) == 600_000 + 3 * (30_000 + 15_000)
    assert advisor.stale_ms(0) == 600_000 + 3 * 15_000
    assert not advisor.claims_exhausted(1)
    assert not advisor.claims_exhausted(advisor.REFRESH_CLAIMS - 1)
    assert advisor.claims_exhausted(advisor.REFRESH_CLAIMS)
    assert advisor.claims_exhausted(advisor.REFRESH_CLAIMS + 1)
