"""Render a ClinicalTrials.gov API v2 study record as a `Document` with headed sections."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from corpus.document import Document
from corpus.extract import ExtractError, Meta, TextBuilder, make_document

_NCT = re.compile(r"clinicaltrials\.gov/(?:study|ct2/show)/(NCT\d{8})", re.IGNORECASE)
API = "https://clinicaltrials.gov/api/v2/studies/{nct}"


def api_url(url: str) -> str | None:
    """The JSON API address for a study page URL, or None if `url` is not a study page."""
    match = _NCT.search(url)
    return API.format(nct=match.group(1).upper()) if match else None


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _paragraphs(builder: TextBuilder, text: object) -> None:
    if isinstance(text, str):
        for line in text.splitlines():
            builder.line(line.lstrip("*-• ").strip() if line.strip()[:2] in ("* ", "- ") else line)


def render_study(raw: bytes, meta: Meta) -> Document:
    """Brief summary, detailed description, conditions, eligibility, arms and outcomes."""
    try:
        study = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ExtractError(f"{meta.source_id}: trial record is not valid JSON") from None
    protocol = _get(study, "protocolSection")
    if not isinstance(protocol, dict):
        raise ExtractError(f"{meta.source_id}: trial record has no protocolSection")
    ident = protocol.get("identificationModule", {})
    status = protocol.get("statusModule", {})
    builder = TextBuilder()
    title = ident.get("officialTitle") or ident.get("briefTitle") or meta.source_id
    builder.heading(ident.get("briefTitle") or title)
    facts = [
        ("Trial ID", ident.get("nctId")),
        ("Status", status.get("overallStatus")),
        ("Start date", _get(status, "startDateStruct", "date")),
        ("Sponsor", _get(protocol, "sponsorCollaboratorsModule", "leadSponsor", "name")),
        ("Conditions", ", ".join(_get(protocol, "conditionsModule", "conditions") or [])),
    ]
    for label, value in facts:
        if value:
            builder.line(f"{label}: {value}.")
    for heading, path in (
        ("Brief summary", ("descriptionModule", "briefSummary")),
        ("Detailed description", ("descriptionModule", "detailedDescription")),
    ):
        if _get(protocol, *path):
            builder.heading(heading)
            _paragraphs(builder, _get(protocol, *path))
    _arms(builder, protocol)
    _outcomes(builder, protocol)
    criteria = _get(protocol, "eligibilityModule", "eligibilityCriteria")
    if criteria:
        builder.heading("Eligibility")
        _paragraphs(builder, criteria)
    text, sections = builder.build()
    doc = make_document(meta, text, sections, meta.title or title, "application/json")
    updated = _get(status, "lastUpdatePostDateStruct", "date")
    return doc if meta.published or not updated else replace(doc, published=updated)


def _arms(builder: TextBuilder, protocol: dict[str, Any]) -> None:
    module = protocol.get("armsInterventionsModule") or {}
    arms, interventions = module.get("armGroups") or [], module.get("interventions") or []
    if not arms and not interventions:
        return
    builder.heading("Arms and interventions")
    for arm in arms:
        label = " ".join(
            x for x in (arm.get("label"), f"({arm['type']})" if arm.get("type") else "") if x
        )
        builder.line(f"{label}: {arm.get('description', '')}".strip().rstrip(":"))
    for item in interventions:
        name = " ".join(x for x in (item.get("type"), item.get("name")) if x)
        builder.line(f"{name}: {item.get('description', '')}".strip().rstrip(":"))


def _outcomes(builder: TextBuilder, protocol: dict[str, Any]) -> None:
    module = protocol.get("outcomesModule") or {}
    for heading, key in (
        ("Primary outcomes", "primaryOutcomes"),
        ("Secondary outcomes", "secondaryOutcomes"),
    ):
        outcomes = module.get(key) or []
        if not outcomes:
            continue
        builder.heading(heading)
        for outcome in outcomes:
            parts = [outcome.get("measure", "")]
            if outcome.get("description"):
                parts.append(outcome["description"])
            if outcome.get("timeFrame"):
                parts.append(f"Time frame: {outcome['timeFrame']}.")
            builder.line(" ".join(p.strip() for p in parts if p))
