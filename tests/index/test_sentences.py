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
        # pointers to other pages answer nothing
        ("For more information, go to the Health Topics Lung Transplant article.", False),
        ('(For more information, go to "Types of Heart Block.")', False),
        ("See the PDQ summary on Childhood Hodgkin Lymphoma for more information.", False),
        ("See Drugs Approved for Hodgkin Lymphoma for more information.", False),
        ("For more information on breast cancer risk, call 1-800-4-CANCER.", False),
        # ... but what follows a bracketed one is kept, and "see" that tells is no pointer
        ("(See the PDQ summary on Cancer Pain.) - A trial of high-dose chemotherapy.", True),
        ("Doctors see the lesions on an MRI scan.", True),
        ("Seeing a doctor early for more information about risks helps.", True),
        # headings of four words or more
        ("Signs and Symptoms of Excessive Blood Clotting", False),
        ("For People Who Have No Known Risk Factors for Sudden Cardiac Arrest", False),
        ("Most people with Parkinson Disease are over 60", True),  # a statement, unpunctuated
        ("The U.S. Food and Drug Administration approved it.", True),
    ],
)
def test_answers_are_statements_about_the_subject(text: str, quotable: bool) -> None:
    assert answerable_text(text, SentenceSettings()) is quotable
