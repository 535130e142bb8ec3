"""The deployment's SLA policy (targets and calendar), parsed once per settings."""

from __future__ import annotations

import functools

from supportd.config import Config
from supportd.domain import sla


@functools.cache
def _parsed(targets: str, business_hours: str) -> sla.SlaPolicy:
    return sla.policy(targets, business_hours)


def policy(config: Config) -> sla.SlaPolicy:
    return _parsed(config.sla_targets, config.sla_business_hours)
