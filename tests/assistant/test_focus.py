"""Reading a question against the sources' words (assistant/focus.py), on the seed article."""

from __future__ import annotations

import pytest

from assistant.focus import _scan, names_absent


@pytest.mark.parametrize(
    ("question", "absent"),
    [
        # hedges and stresses say how a question is asked, not what it is about
        ("are stem cell products really safe overall?", False),
        ("are the unproven treatments also risky, honestly?", False),
        ("were the trials safe tho cos i dunno", False),  # chat spellings of function words
        # asking for more of what was said names nothing ("The sources don't mention details
        # please" was shown for "more details please")
        ("more details please", False),
        # how the writer came to ask: "hearing" names a condition in medical titles, not here
        ("we have been hearing about stem cell trials, are they safe?", False),
        ("is the hearing test safe?", True),
        ("can you explain that more simply please?", False),
        # what the asker anticipates: "The sources don't mention expect" was shown
        ("i am thinking about an MSC trial. what side effects should i expect", False),
        # a negated word the sources use without its prefix: they speak of what it negates
        ("are unapproved treatments safe?", False),
        ("is a non-approved product safe?", False),
        # ... which is no licence for words they do not use at all
        ("are stem cells safe for autism?", True),
        ("do nonverbal patients get side effects?", True),
        # a comparative or superlative of a word the sources use: "longest" was named as
        # what the sources don't mention, though they say how long patients were followed
        ("whats the longest anyone was followed up in the spinal cord studies?", False),
        ("are clinic stem cells riskier than trial ones?", False),
        ("which were the biggest studies, and were they the safest?", False),
        ("is the cheapest clinic safe?", True),  # the sources never say "cheap"
    ],
)
def test_words_no_source_uses(seed_version, question: str, absent: bool) -> None:  # type: ignore[no-untyped-def]
    assert names_absent(seed_version, question) is absent


def test_clinical_shorthand_is_read_as_the_sources_word(seed_version) -> None:  # type: ignore[no-untyped-def]
    text, corrections, absent = _scan(seed_version, "any tx for autism? my son was dx at 4")
    assert corrections["tx"] == "treatment"  # the article says "treatments"
    assert text.startswith("any treatment for autism?")
    # the article never says "diagnosed": "dx" stays as typed, and is no subject either
    assert "dx" not in corrections and "dx" not in [a[0] for a in absent]


def test_a_longer_shorthand_form_is_read_whole(seed_version) -> None:  # type: ignore[no-untyped-def]
    text, corrections, _ = _scan(seed_version, "the tx was hard, he was tx'd for months")
    assert corrections == {"tx": "treatment", "tx'd": "treated"}
    assert text == "the treatment was hard, he was treated for months"  # not "treatment'd"
