"""Which sentences may be quoted as answers."""

import pytest

from index.sentences import SentenceSettings, answerable_text


@pytest.mark.parametrize(
    ("text", "quotable"),
    [
        ("Strict tests check for problems before use.", True),
        ("Treatment", False),  # a heading
        ("What causes tumors in these patients?", False),
        ("Please click on the link to access this resource.", False),
        ("To enlarge the video, click the brackets in the lower right-hand corner.", False),
        ("For the list of laboratories doing this test click here.", False),
        ("People with TMJ may hear a clicking sound in the jaw when they chew.", True),
        ("You may hear a click on opening the mouth wide.", True),
        ("The clinic footer had a click here link for bookings.", True),  # tells, not asks
    ],
)
def test_answers_are_statements_about_the_subject(text: str, quotable: bool) -> None:
    assert answerable_text(text, SentenceSettings()) is quotable
