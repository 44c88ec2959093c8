import pytest

from assistant.followup import (
    acknowledges,
    asks,
    depends_on_history,
    own_question,
    previous_reading,
    question_units,
    resolve,
    retraction_length,
    subject_index,
    switches_subject,
    to_the_assistant,
    without_questions_on,
)


@pytest.mark.parametrize(
    "question",
    [
        "What side effects did they see?",
        "and what about travelling abroad for them?",
        "What about lung disease?",
        "When does it start?",
        "Why?",
        "tell me more",  # chat's commonest follow-up: "tell" is not a subject no source covers
        "Go on, more about the risks please",
        "go back to the spinal cord one",  # names a subject, yet points at an earlier turn
        # "the trial" is one the conversation named: after "Can stem cells help Parkinson's?"
        # this was answered, standalone, with the Huntington's trial's start
        "When does the trial start?",
    ],
)
def test_questions_that_point_back_depend_on_history(question: str) -> None:
    assert depends_on_history(question)


@pytest.mark.parametrize(
    "question",
    [
        "Can stem cells cause tumors?",
        "What is stem cell tourism?",
        "Are stem cell injections at a private clinic dangerous?",
        "Back to work after a stem cell procedure: how soon?",
        "What did the lung trial find?",  # "the" before a word that names which trial
    ],
)
def test_self_contained_questions_stand_alone(question: str) -> None:
    assert not depends_on_history(question)
    assert resolve(question, ["Is there a Huntington's trial?"]).text == question


@pytest.mark.parametrize(
    ("question", "taken_back"),
    [
        ("forget that, what did the trial find?", "forget that,"),
        ("ok never mind the price. is it safe?", "ok never mind the price."),
        ("Scratch that - how long did it last?", None),  # a dash ends no clause
        ("forget it?", None),  # nor does the question mark that ends the message
        ("nvm, what were the side effects", "nvm,"),
        # "forget" inside a question asks about forgetting
        ("does it make you forget things?", None),
        ("my mum keeps forgetting names, would stem cells help?", None),
    ],
)
def test_a_message_that_takes_back_the_earlier_turn_stands_alone(
    question: str, taken_back: str | None
) -> None:
    length = retraction_length(question)
    assert question[:length] == (taken_back or "")
    if taken_back:
        assert not depends_on_history(question)
        assert resolve(question, ["How much does a clinic charge?"]).text == question


def test_chained_follow_ups_carry_the_first_topic() -> None:
    resolved = resolve("When does it start?", ["Is there a Huntington's trial?", "Who runs it?"])
    assert resolved.uses_history and "Huntington" in resolved.text
    assert resolved.focus == "When does it start?"


def test_a_message_of_several_questions_sheds_those_on_uncovered_terms() -> None:
    message = "I'm 34. I saw a clinic in Australia. Is it safe? Is there a trial in Australia?"
    assert without_questions_on(message, ["Australia"]) == "I'm 34. Is it safe?"
    assert without_questions_on("Can stem cells cure autism?", ["autism"]) is None
    # a sentence that goes on to ask a second question is two
    mixed = "Were there side effects, and does the NHS pay for it?"
    assert question_units(mixed) == ["Were there side effects", "does the NHS pay for it?"]
    assert without_questions_on(mixed, ["NHS"]) == "Were there side effects"
    assert question_units("Is it safe and effective?") == ["Is it safe and effective?"]
    assert question_units("my mum has MS, is it safe for her?") == [
        "my mum has MS",
        "is it safe for her?",
    ]
    # a statement is not split: no question starts at "and was"
    told = "My mum is 61 and was diagnosed in May."
    assert question_units(told) == [told]
    assert question_units("What is stem cell tourism & is it legal") == [
        "What is stem cell tourism",
        "is it legal",
    ]
    # both parts of a question sentence ask, however the first opens
    story = "I'm 52. So my questions are: were there tumours, and how long is the wait on the NHS?"
    assert without_questions_on(story, ["NHS"]) == "I'm 52. So my questions are: were there tumours"
    assert without_questions_on("Is it safe? Does it hurt?", []) is None  # nothing to shed
    # "ok" before the question is no question of its own: nothing covered is left to answer
    knees = "ok and what about for my knees? ive got bone on bone in both"
    assert without_questions_on(knees, ["knees"]) is None
    # every question mentions it: nothing is left to answer
    assert (
        without_questions_on("Is autism curable? Does autism run in families?", ["autism"]) is None
    )


def subject_turn(history: list[str]) -> str | None:
    at = subject_index(history)
    return None if at is None else history[at]


def test_the_turn_a_follow_up_is_about_is_the_last_that_names_a_subject() -> None:
    autism = "Can stem cells cure autism?"
    assert subject_turn([autism]) == autism
    assert subject_turn([autism, "what side effects did they see?"]) == autism
    assert subject_turn(["Is it safe?", "what about ALS?", "and is it safe?"]) == "what about ALS?"
    back = "go back to the spinal cord one"
    assert subject_turn([autism, "what about lung disease?", back]) == back
    # the first turn had nothing before it to lean on, whatever it says
    assert subject_turn(["Is there a trial for ALS?", "when does it start?"]) == (
        "Is there a trial for ALS?"
    )
    assert subject_turn(["is it safe?", "why?"]) == "is it safe?"
    assert subject_turn([]) is None
    assert switches_subject("and for spinal cord injury?")
    assert not switches_subject("and for how long?")  # asks about the same subject


@pytest.mark.parametrize(
    ("question", "switches"),
    [
        ("what about lung disease?", True),
        ("And how about in Mexico?", True),
        ("Go back to the spinal cord one", True),
        ("and is it safe?", False),
        ("What is known about tumours?", False),  # "about" mid-question names no new subject
        ("and dogs?", True),  # a bare "and X?" names X
        ("but my son has autism", True),
        ("and how many patients?", False),  # asks more about the same subject
        ("and then what happened to them?", False),
        ("also, were there side effects?", False),
    ],
)
def test_openings_that_turn_to_a_subject(question: str, switches: bool) -> None:
    assert switches_subject(question) is switches


@pytest.mark.parametrize(
    "message",
    [
        "thanks!",
        "ok cheers",
        "Thank you so much, that really helped x",
        "great, got it",
        "ok",
        # thanks, then what the writer will do next
        "ok cheers, I'll talk to his consultant",
        "Thanks, we will think about it and ask at her next appointment",
        "great thanks, I'm going to show this to my mum",
        "gotcha, thanks a bunch",  # a few words around a thank-you
        "cheers mate",
        "Thank you, that has been really helpful.",  # quoted three sentences after a turn
        "thanks for all the info, take care",
    ],
)
def test_thanks_and_acknowledgements_are_said_to_the_assistant(message: str) -> None:
    assert acknowledges(message) and to_the_assistant(message)


@pytest.mark.parametrize(
    "message",
    [
        "thanks, is it safe?",  # asks something
        "ok thanks, and the side effects",  # names something
        "great, now what about the tumour risk",
        "ok, my son has autism",  # what later questions are about
        "I'll talk to his consultant",  # no thanks
        "thanks, I'll be going to Mexico for it in May, is that safe",  # asks, without "?"
        "ok, I'll ask something else. can stem cells cure autism",
        "thanks is it safe",
        "thanks I will ask: is it safe",
        "thanks, my mum has been taking it for years",  # tells what later questions are about
    ],
)
def test_a_message_that_also_asks_or_names_something_is_no_acknowledgement(
    message: str,
) -> None:
    assert not acknowledges(message)


def test_asking_what_the_assistant_is_is_said_to_it_however_many_words_name_it() -> None:
    for message in ("are you a real doctor", "r u a bot", "ok, are you an AI?", "are you human?"):
        assert to_the_assistant(message), message
    # about the sources, said to the assistant
    assert not to_the_assistant("are you sure stem cells are safe?")
    assert not to_the_assistant("Are stem cells safe for you to use in children?")
    # beside a real question the message is not all to the assistant: that part is asked
    assert not to_the_assistant("Are you a doctor? Do stem cells cause tumours?")


def test_closing_lines_and_words_to_the_assistant_ask_nothing() -> None:
    assert asks("any side effects?") and asks("and can I get it on the NHS")
    assert not asks("Any advice appreciated.") and not asks("Any help would be great, thanks")
    assert not asks("Can you help me?") and not asks("Thank you.")


def test_a_part_that_leans_on_the_rest_is_no_question_of_its_own() -> None:
    assert own_question("does the NHS pay for it?")
    assert not own_question("what cauess it")  # one subject word: the story says what "it" is
    assert not own_question("my mum has MS")  # asks nothing


def test_turns_that_only_tell_are_read_with_the_turn_before_them() -> None:
    history = [
        "I was diagnosed with pneumonia on Monday and started antibiotics.",
        "I'm 45 and otherwise healthy, the doctor said I can recover at home.",
    ]
    # the last turn alone does not say what the story is about
    assert "pneumonia" in previous_reading(history).text
    assert "pneumonia" in resolve("and what about at night?", history).text
    # ... back to the last turn that asked ("What about stem cells?" leans on the one before)
    asked = ["Is shingles contagious?", "What about stem cells?", "my son is 7"]
    whole = "Is shingles contagious? What about stem cells? my son is 7"
    assert previous_reading(asked).text == whole
    asked = ["Is shingles contagious?", "Are stem cells safe?", "my son is 7"]
    assert previous_reading(asked).text == "Are stem cells safe? my son is 7"
    # a last turn that asks is read as before
    assert previous_reading(["What is GMP?", "Is it safe?"]).text == "What is GMP? Is it safe?"
