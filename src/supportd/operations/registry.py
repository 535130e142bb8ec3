"""Operation name -> handler, for every operation this version implements."""

from __future__ import annotations

from supportd.operations import cases, reference
from supportd.operations.context import Handler

HANDLERS: dict[str, Handler] = {
    "CreateCase": cases.create_case,
    "DescribeCases": cases.describe_cases,
    "DescribeCommunications": cases.describe_communications,
    "AddCommunicationToCase": cases.add_communication_to_case,
    "ResolveCase": cases.resolve_case,
    "DescribeServices": reference.describe_services,
    "DescribeSeverityLevels": reference.describe_severity_levels,
    "DescribeSupportedLanguages": reference.describe_supported_languages,
    "DescribeCreateCaseOptions": reference.describe_create_case_options,
}
