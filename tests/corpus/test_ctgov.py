import json

from corpus.ctgov import api_url, render_study
from corpus.extract import Meta

STUDY = {
    "protocolSection": {
        "identificationModule": {
            "nctId": "NCT07297576",
            "briefTitle": "Neural Stem Cells for Huntington's Disease",
            "officialTitle": "A Phase 1 Study of Neural Stem Cell Transplantation in HD",
        },
        "statusModule": {
            "overallStatus": "NOT_YET_RECRUITING",
            "startDateStruct": {"date": "2026-06"},
            "lastUpdatePostDateStruct": {"date": "2025-12-10"},
        },
        "sponsorCollaboratorsModule": {"leadSponsor": {"name": "University of California, Irvine"}},
        "conditionsModule": {"conditions": ["Huntington Disease"]},
        "descriptionModule": {
            "briefSummary": "This study tests whether neural stem cells are safe in people with "
            "early Huntington's disease.",
            "detailedDescription": "Participants receive a single transplant.\nThey are "
            "followed for five years.",
        },
        "armsInterventionsModule": {
            "armGroups": [
                {
                    "label": "Cell therapy",
                    "type": "EXPERIMENTAL",
                    "description": "Neural stem cells injected into the striatum.",
                }
            ],
            "interventions": [
                {"type": "BIOLOGICAL", "name": "hNSC", "description": "Human neural stem cells."}
            ],
        },
        "outcomesModule": {
            "primaryOutcomes": [
                {"measure": "Number of serious adverse events", "timeFrame": "12 months"}
            ],
        },
        "eligibilityModule": {
            "eligibilityCriteria": "Inclusion Criteria:\n* Age 30 to 65\n* Genetically confirmed HD"
        },
    }
}


def test_study_page_url_maps_to_the_v2_api() -> None:
    assert api_url("https://clinicaltrials.gov/study/NCT07297576") == (
        "https://clinicaltrials.gov/api/v2/studies/NCT07297576"
    )
    assert api_url("https://example.org/study/NCT07297576") is None


def test_trial_record_is_rendered_as_headed_sections() -> None:
    doc = render_study(json.dumps(STUDY).encode(), Meta(source_id="nct", kind="trial-registry"))
    titles = [s.title for s in doc.sections]
    for heading in (
        "Brief summary",
        "Detailed description",
        "Arms and interventions",
        "Primary outcomes",
        "Eligibility",
    ):
        assert heading in titles
    assert doc.title == "A Phase 1 Study of Neural Stem Cell Transplantation in HD"
    assert doc.published == "2025-12-10"
    eligibility = next(s for s in doc.sections if s.title == "Eligibility")
    assert "Age 30 to 65" in doc.text[eligibility.start : eligibility.end]
    assert "Number of serious adverse events Time frame: 12 months." in doc.text
    assert "Status: NOT_YET_RECRUITING." in doc.text
