"""The Create case form: its choices (from the reference data and the account's plan),
the checks that answer a person field by field, and the API errors mapped back onto
fields. The API's own validation runs afterwards all the same (Site.invoke): these
checks only word the common mistakes for a person."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData, UploadFile

from supportd import api_errors
from supportd.config import Config, sla_policy
from supportd.domain import plans, sla
from supportd.domain.addresses import is_valid_email
from supportd.domain.attachments import file_name_problem
from supportd.reference.catalogue import Catalogue
from supportd.web import forms

MAX_BODY_CHARS = 8000  # the model's CommunicationBody
MAX_CC = 10  # the model's CcEmailAddressList
ISSUE_TYPE_NAMES = {"technical": "Technical support", "customer-service": "Account and billing"}
FIELDS = (
    "issue_type",
    "service",
    "category",
    "severity",
    "subject",
    "description",
    "language",
    "cc",
    "attachments",
)
_CC_SPLIT = re.compile(r"[\s,;]+")


def plan_name(plan: str) -> str:
    return plan.title()


@dataclass(frozen=True, slots=True)
class Choices:
    """What the form offers this account."""

    issue_types: list[dict[str, Any]]
    services: list[dict[str, Any]]
    severities: list[dict[str, Any]]
    languages: list[dict[str, str]]
    business_hours: str


def choices(catalogue: Catalogue, config: Config, plan: str) -> Choices:
    targets = sla_policy(config).targets
    severities = []
    for level in catalogue.severity_levels:
        code = level["code"]
        needed = plans.lowest_plan_for_severity(code)
        available = plans.may_use_severity(plan, code)
        severities.append(
            {
                "code": code,
                "name": level["name"],
                "label": level.get("label", ""),
                "target_ms": targets.duration(sla.FIRST_RESPONSE, code, plan),
                "available": available,
                "reason": ""
                if available
                else f"It needs the {plan_name(needed)} plan or higher; this account has the "
                f"{plan_name(plan)} plan.",
            }
        )
    issue_types = []
    for code in catalogue.issue_types:
        available = plans.may_use_issue_type(plan, code)
        issue_types.append(
            {
                "code": code,
                "name": ISSUE_TYPE_NAMES.get(code, code.replace("-", " ").capitalize()),
                "available": available,
                "reason": "" if available else "needs the Developer plan or higher",
            }
        )
    services = [
        {
            "code": s["code"],
            "name": s["name"],
            "categories": [
                {"value": f"{s['code']}/{c['code']}", "name": c["name"]} for c in s["categories"]
            ],
        }
        for s in catalogue.services
    ]
    languages = [{"code": lang["code"], "name": lang["language"]} for lang in catalogue.languages]
    return Choices(issue_types, services, severities, languages, config.sla_business_hours)


@dataclass
class NewCase:
    """What the person entered (kept when the form comes back with errors)."""

    issue_type: str = "technical"
    service: str = ""
    category: str = ""  # "<service code>/<category code>"
    severity: str = "low"
    subject: str = ""
    description: str = ""
    language: str = "en"
    cc: str = ""
    files: list[UploadFile] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)  # large files, uploaded by the script

    @classmethod
    def from_form(cls, data: FormData) -> NewCase:
        return cls(
            issue_type=forms.text(data, "issue_type"),
            service=forms.text(data, "service"),
            category=forms.text(data, "category"),
            severity=forms.text(data, "severity"),
            subject=forms.text(data, "subject"),
            description=forms.text(data, "description"),
            language=forms.text(data, "language"),
            cc=forms.text(data, "cc"),
            files=forms.files(data, "attachments"),
            uploads=upload_ids(data),
        )

    def cc_addresses(self) -> list[str]:
        return [a for a in _CC_SPLIT.split(self.cc.strip()) if a]

    def category_code(self) -> str:
        return self.category.partition("/")[2]

    def api_body(self) -> dict[str, Any]:
        """CreateCase's input, as an API client would send it."""
        body: dict[str, Any] = {
            "subject": self.subject.strip(),
            "communicationBody": self.description,
            "serviceCode": self.service,
            "categoryCode": self.category_code(),
            "severityCode": self.severity,
            "issueType": self.issue_type,
            "language": self.language,
        }
        cc = self.cc_addresses()
        if cc:
            body["ccEmailAddresses"] = cc
        if self.uploads:
            body["uploadIds"] = self.uploads
        return body


def check(case: NewCase, catalogue: Catalogue, config: Config, plan: str) -> dict[str, str]:
    """Problems by field name; empty if the form may go to the API."""
    problems: dict[str, str] = {}
    if case.issue_type not in catalogue.issue_types:
        problems["issue_type"] = "Choose an issue type."
    elif not plans.may_use_issue_type(plan, case.issue_type):
        problems["issue_type"] = (
            f"Technical support is not available with the {plan_name(plan)} plan."
        )
    service_categories = catalogue.categories_by_service.get(case.service)
    if service_categories is None:
        problems["service"] = "Choose a service."
    category_service, _, category = case.category.partition("/")
    if not category:
        problems["category"] = "Choose a category."
    elif service_categories is not None and (
        category_service != case.service or category not in service_categories
    ):
        name = next(s["name"] for s in catalogue.services if s["code"] == case.service)
        problems["category"] = f"Choose a category of {name}."
    if case.severity not in catalogue.severity_codes:
        problems["severity"] = "Choose a severity."
    elif not plans.may_use_severity(plan, case.severity):
        problems["severity"] = f"This severity is not available with the {plan_name(plan)} plan."
    if not case.subject.strip():
        problems["subject"] = "Enter a subject."
    if not case.description.strip():
        problems["description"] = "Enter a description of the problem."
    elif len(case.description) > MAX_BODY_CHARS:
        problems["description"] = (
            f"Shorten the description to {MAX_BODY_CHARS:,} characters or fewer "
            f"(it has {len(case.description):,})."
        )
    if case.language not in catalogue.language_codes:
        problems["language"] = "Choose a language."
    cc = case.cc_addresses()
    bad = [address for address in cc if not is_valid_email(address)]
    if bad:
        problems["cc"] = f"This is not an email address: {bad[0]}"
    elif len(cc) > MAX_CC:
        problems["cc"] = f"Enter at most {MAX_CC} email addresses."
    file_problem = files_problem(case.files, config, len(case.uploads))
    if file_problem:
        problems["attachments"] = file_problem
    return problems


def file_name(upload: UploadFile) -> str:
    """The name as chosen, without any folder part a browser may send."""
    return re.split(r"[/\\]", upload.filename or "")[-1]


def upload_limits(config: Config) -> dict[str, Any]:
    """What the Attachments field says and its script enforces: files up to
    small_bytes go with the form, larger ones up to large_bytes through the
    large-upload links."""
    return {
        "files": config.attachment_set_files,
        "small_bytes": config.attachment_file_bytes,
        "small_mb": config.attachment_file_bytes / (1024 * 1024),
        "large_bytes": config.upload_max_bytes,
        "large_mb": config.upload_max_bytes / (1024 * 1024),
    }


def upload_ids(data: FormData) -> list[str]:
    """The large-file uploads the page's script made and named in the form (distinct,
    non-empty). The operation checks each is this account's and ready."""
    found = [v.strip() for v in data.getlist("upload_ids") if isinstance(v, str) and v.strip()]
    return list(dict.fromkeys(found))


def files_problem(files: list[UploadFile], config: Config, uploads: int = 0) -> str | None:
    """AddAttachmentsToSet's rules, worded for a person; `uploads` large files count
    towards the number of files a message may have."""
    if len(files) + uploads > config.attachment_set_files:
        return f"Choose at most {config.attachment_set_files} files."
    for upload in files:
        name = file_name(upload)
        if (upload.size or 0) > config.attachment_file_bytes:
            limit = config.attachment_file_bytes / (1024 * 1024)
            return (
                f"{name} is larger than {limit:g} MB. Attach a smaller file, or turn on "
                "JavaScript in your browser to send files up to "
                f"{config.upload_max_bytes / (1024 * 1024):g} MB."
            )
        problem = file_name_problem(name)
        if problem:
            return f"The file name {name!r} cannot be used: " + problem.replace(
                "fileName", "a file name"
            )
    return None


async def attachment_body(files: list[UploadFile]) -> dict[str, Any]:
    """AddAttachmentsToSet's input, as an API client would send it (base64 data)."""
    items = []
    for upload in files:
        await upload.seek(0)
        data = await upload.read()
        items.append({"fileName": file_name(upload), "data": base64.b64encode(data).decode()})
    return {"attachments": items}


# Where an API error belongs on the Create case and reply forms.
_MEMBER_FIELDS = {
    "subject": "subject",
    "communicationBody": "description",
    "ccEmailAddresses": "cc",
    "serviceCode": "service",
    "categoryCode": "category",
    "severityCode": "severity",
    "language": "language",
    "issueType": "issue_type",
}
_ATTACHMENT_ERRORS = {
    "AttachmentSetSizeLimitExceeded",
    "AttachmentLimitExceeded",
    "AttachmentSetIdNotFound",
    "AttachmentSetExpired",
    "UploadIdNotFound",
}


def field_of(error: api_errors.ApiError, body_field: str = "description") -> str | None:
    """The form field an API error is about, or None (the error summary then)."""
    if error.code in _ATTACHMENT_ERRORS:
        return "attachments"
    text = error.message
    lowered = text.lower()
    if lowered.startswith("upload "):  # an upload that cannot be attached (not ready, used)
        return "attachments"
    if "severity" in lowered:
        return "severity"
    if "email" in lowered:
        return "cc"
    if "category" in lowered:
        return "category"
    if "service" in lowered:
        return "service"
    if "language" in lowered:
        return "language"
    if "issue type" in lowered:
        return "issue_type"
    for member, name in _MEMBER_FIELDS.items():
        if f"'{member}'" in text:
            return body_field if name == "description" else name
    return None
