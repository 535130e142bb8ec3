"""Operation name -> handler, for every operation this version implements."""

from __future__ import annotations

from supportd.operations import advisor, attachments, cases, reference
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
    "DescribeTrustedAdvisorChecks": advisor.describe_trusted_advisor_checks,
    "DescribeTrustedAdvisorCheckResult": advisor.describe_trusted_advisor_check_result,
    "DescribeTrustedAdvisorCheckSummaries": advisor.describe_trusted_advisor_check_summaries,
    "DescribeTrustedAdvisorCheckRefreshStatuses": (
        advisor.describe_trusted_advisor_check_refresh_statuses
    ),
    "RefreshTrustedAdvisorCheck": advisor.refresh_trusted_advisor_check,
    "AddAttachmentsToSet": attachments.add_attachments_to_set,
    "DescribeAttachment": attachments.describe_attachment,
    "GetAttachmentUploadLinks": attachments.get_attachment_upload_links,
    "CompleteAttachmentUpload": attachments.complete_attachment_upload,
    "DescribeAttachmentUploadStatus": attachments.describe_attachment_upload_status,
    "GetAttachmentDownloadLink": attachments.get_attachment_download_link,
}
