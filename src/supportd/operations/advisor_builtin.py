"""Check providers that ship with supportd, registered through the same entry point group
as any plug-in (see pyproject.toml): they inspect supportd's own data for the account."""

from __future__ import annotations

from typing import Any

from supportd.domain import advisor, clock
from supportd.operations.advisor_providers import CheckRequest

DAY_MS = 86_400_000
ROTATE_AFTER_DAYS = 90
STALE_AFTER_DAYS = 730  # two years


async def access_key_rotation(request: CheckRequest) -> dict[str, Any]:
    """IAM Access Key Rotation (DqdJqYeRm5) over the account's supportd access keys: an
    active long-term key created more than 90 days ago is yellow, more than two years
    ago red. Revoked keys and temporary (session) keys are not looked at. A key's last
    rotation is its creation: rotating means making a new key and revoking the old."""
    keys = await request.store.list_keys(request.account_id)
    active = [key for key in keys if key.revoked_ms is None and not key.temporary]
    flagged: list[dict[str, Any]] = []
    for key in active:
        age_days = (request.now_ms - key.created_ms) // DAY_MS
        if age_days > STALE_AFTER_DAYS:
            status, colour = advisor.ERROR, "Red"
        elif age_days > ROTATE_AFTER_DAYS:
            status, colour = advisor.WARNING, "Yellow"
        else:
            continue
        flagged.append(
            {
                "status": status,
                "resourceId": key.access_key_id,
                "isSuppressed": False,
                "metadata": [
                    colour,
                    key.user_name,
                    key.access_key_id,
                    clock.format_advisor_time(key.created_ms),
                    f"Not rotated in {age_days} days",
                ],
            }
        )
    return {"resourcesSummary": {"resourcesProcessed": len(active)}, "flaggedResources": flagged}
