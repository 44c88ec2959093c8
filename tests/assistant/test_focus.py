"""Reading a question against the sources' words (assistant/focus.py), on the seed article."""

from __future__ import annotations

import pytest

from assistant.focus import names_absent, weightiest_is_absent


@pytest.mark.parametrize(
    ("turn", "covered"),
    [
        # the sources cover the lung disease; "welding" is an aside
        ("my dad has pulmonary fibrosis from years of welding", True),
        # no source covers dementia, nor epilepsy, whatever else the story names
        ("my nan has dementia and forgets our names", False),
        ("my daughter has epilepsy and we saw a stem cell clinic online", False),
    ],
)
def test_the_weightiest_phrase_of_a_story_turn_says_what_it_is_about(
    seed_version, embedder, turn: str, covered: bool
) -> None:  # type: ignore[no-untyped-def]
    assert weightiest_is_absent(seed_version, embedder, turn) is not covered


def test_a_turn_without_absent_words_needs_no_weighing(seed_version) -> None:  # type: ignore[no-untyped-def]
    class NoModel:
        def encode(self, texts: list[str]) -> None:
            raise AssertionError("no model call is needed")

    turn = "my dad has pulmonary fibrosis"
    assert weightiest_is_absent(seed_version, NoModel(), turn) is False  # type: ignore[arg-type]
    assert weightiest_is_absent(seed_version, NoModel(), "my dad has dementia") is True  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("question", "absent"),
    [
        # hedges and stresses say how a question is asked, not what it is about
        ("are stem cell products really safe overall?", False),
        ("are the unproven treatments also risky, honestly?", False),
        ("were the trials safe tho cos i dunno", False),  # chat spellings of function words
        # a negated word the sources use without its prefix: they speak of what it negates
        ("are unapproved treatments safe?", False),
        ("is a non-approved product safe?", False),
        # ... which is no licence for words they do not use at all
        ("are stem cells safe for autism?", True),
        ("do nonverbal patients get side effects?", True),
    ],
)
def test_words_no_source_uses(seed_version, question: str, absent: bool) -> None:  # type: ignore[no-untyped-def]
    assert names_absent(seed_version, question) is absent
