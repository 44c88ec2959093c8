"""Which kind of detail a question asks for, and which sentences give one (no model)."""

from __future__ import annotations

import pytest

from assistant.answertype import asking_spans, expected, gives, kind_of, only_offered


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How long is the recovery after a stem cell injection?", "duration"),
        ("whats the recovery time after the infusion", "duration"),
        ("how many weeks off work will I need", "duration"),
        ("how many times do you need the infusion", "frequency"),
        ("How often should they be repeated?", "frequency"),
        ("how many patients were in the big study", "count"),
        ("how much patients they will take in it?", "count"),  # as learners of English write
        ("which dosis of neural stem cells they give?", "dose"),
        ("what dose of MSCs do they use", "dose"),
        ("When does the Huntington's trial start?", "time"),
        ("ok and when will the results be out", "time"),
        ("how much does a stem cell transplant cost", "money"),
        ("whats the success rate? like what % walk again", "share"),
        ("what does GMP actually stand for", "expansion"),
        ("where is the huntington disease stem cell trial happening?", "place"),
        ("which hospital is running it, is it near us?", "place"),
        ("where is the huntington's trial being done?", "place"),
        ("who is running the huntingtons trial?", "agent"),
        ("whos behind that trial", "agent"),
        ("Who checks that these trials are safe and ethical?", "agent"),
        ("who pays for it?", "money"),  # a payer is a price question
        ("how much is it?", "money"),
        ("how much are we talking, like 10k?", "money"),
        ("how much will it set me back", "money"),
        ("how much does it hurt?", "pain"),  # how much it hurts, not what it costs
        ("is it available on the nhs?", "money"),  # a public payer
        ("does the NHS offer it", "money"),
        ("my NHS consultant says they are dangerous, is that true?", None),  # who said it
        ("or would we have to pay privately?", "money"),
        ("where does she sign up for that 2026 trial", "joining"),
        ("how can I get into the huntingtons trial", "joining"),
        ("and how do i get my husband on it", "joining"),
        ("should I join a trial or go to a clinic?", None),  # a choice the sources speak to
        ("how do they get the cells into the lungs?", None),
        ("were they mostly men or women?", "sex"),
        ("does having bone marrow taken out for stem cells hurt", "pain"),
        ("how painful is donating bone marrow?", "pain"),
        ("Can stem cells from clinics hurt me?", None),  # harm, not pain
        ("is it safe for women?", None),
        ("who should not get stem cells?", None),  # patients, not who runs anything
        ("what animals did they test it on? mice?", "animal"),
        ("where do the stem cells used by doctors come from?", None),  # a source, not a place
        ("what percentage of patients got better", "share"),
        ("is he too old for the lung trial, is there an age limit", "age"),
        ("how old do you have to be to join", "age"),
        ("will our insurance pay for it", "money"),
        # asking something else: any sentence may answer
        ("When should I see a doctor about it?", None),
        ("Is it safer to go through a proper trial than pay a private clinic?", None),
        ("Are stem cells safe?", None),
        ("How can patients protect themselves?", None),
    ],
)
def test_the_kind_of_detail_a_question_asks_for(question: str, kind: str | None) -> None:
    assert kind_of(question) == kind


def test_a_message_asks_for_details_only_when_every_question_in_it_does() -> None:
    assert expected("how many were in it and how long did they watch them") == {
        "count",
        "duration",
    }
    # the risk is no detail: a sentence on risks answers part of the message
    assert expected("whats the risk with traveling and how long would i need to stay") == set()
    assert expected("My dad is 64. How long does recovery take?") == {"duration"}
    assert expected("Are stem cells safe? How long is recovery?") == set()
    # the parts after a question may offer answers to choose from; they ask nothing else
    assert expected("what animals did they test it on? mice? monkeys?") == {"animal"}
    assert expected("how many will they take? 100?") == {"count"}
    # ... but a short question of its own is one
    assert expected("how long is recovery? side effects?") == set()
    assert expected("how long is recovery? and is it safe?") == set()
    # a filler before the question asks nothing of its own
    assert expected("ok and how do i sign up for one of those trials") == {"joining"}


def test_what_only_offers_answers_asks_nothing() -> None:
    assert only_offered("a few years?", frozenset({"duration"}))
    assert only_offered("mice? or rats?", frozenset({"animal"}))
    assert not only_offered("a few years?", frozenset())  # nothing asked to offer answers to
    assert not only_offered("is it safe?", frozenset({"duration"}))
    assert not only_offered("were there tumours in the trials", frozenset({"duration"}))


@pytest.mark.parametrize(
    ("kind", "sentence", "has"),
    [
        ("duration", "Follow-up times ran from six months to five years.", True),
        ("duration", "Most people stay in hospital for 2-3 weeks.", True),
        ("duration", "Studies on stem cells for blood recovery track side effects.", False),
        ("duration", "Animal studies showed no long-term harm.", False),
        ("time", "A new trial starting in 2026 will test neural stem cells.", True),
        ("time", "Symptoms usually begin in childhood.", True),
        ("time", "Strict tests check for problems before use.", False),
        ("count", "One large study with 70 patients found no severe problems.", True),
        ("count", "The disorder is rare.", True),
        ("count", "Many approved treatments show good safety records.", False),
        # a year says when, not how many: "how many will they enroll" took the 2026 trial
        ("count", "A new trial starting in 2026 will test neural stem cells.", False),
        ("count", "By 2020, 1,500 people had been treated.", True),
        ("dose", "Patients received 2 million cells per kg of body weight.", True),
        ("dose", "The usual dose is 400 mg a day.", True),
        ("dose", "A new trial starting in 2026 will test neural stem cells.", False),
        ("frequency", "The infusion is given once a month.", True),
        ("frequency", "In controlled studies, these cells often prove safe.", False),
        ("frequency", "Across 26 studies with follow-up times from six months ...", False),
        ("frequency", "Patients were injected three times.", True),
        ("age", "Most cases are diagnosed in adults over 60.", True),
        ("age", "A trial infusing MSCs into lungs called it safe and workable.", False),
        ("share", "About 1 in 4 people respond.", True),
        ("share", "Most patients improved within a year.", True),
        ("share", "One large study with 70 patients found no severe problems.", False),
        ("expansion", "For example, mesenchymal stem cells, or MSCs, have been tested.", True),
        ("expansion", "They use special clean facilities called GMP to grow cells.", False),
        ("place", "The trial runs at the University of California, Irvine.", True),
        ("place", "Stem cell tourism, where people travel for banned treatments.", False),
        ("agent", "An Institutional Review Board (IRB) reviews and approves many trials.", True),
        ("agent", "To stay safe, experts push for better standards.", True),
        ("agent", "A new trial starting in 2026 will test neural stem cells.", False),
        ("joining", "To enrol, contact the study team or visit ClinicalTrials.gov.", True),
        ("joining", "Patients should pick approved studies and learn all risks.", False),
        ("pain", "Most donors feel some soreness for a few days.", True),
        ("pain", "Doctors use stem cells from sources like bone marrow or embryos.", False),
        ("sex", "Most of the 70 patients were men.", True),
        ("sex", "One large study with 70 patients found no severe problems.", False),
        ("animal", "Earlier studies in mice showed no harm.", True),
        ("animal", "Building on animal studies that showed no long-term harm.", False),
        # money spoken of is no price and no payer: "how much does it cost" took this sentence
        ("money", "Stem cell tourism adds money and health dangers.", False),
        ("money", "Treatment costs about $20,000 and insurance rarely pays.", True),
        ("money", "Clinics offer unproven treatments that skip proper testing.", False),
    ],
)
def test_which_sentences_give_that_kind_of_detail(kind: str, sentence: str, has: bool) -> None:
    assert gives(frozenset({kind}), sentence) is has


@pytest.mark.parametrize(
    ("question", "sentence", "has"),
    [
        # a count of something else is no answer: "how many stem cells do they inject" took
        # the number of studies (an exploratory check)
        ("how many stem cells do they inject?", "Across 26 studies with follow-up times.", False),
        ("how many cells are in a dose?", "Each dose holds 2 million cells per kilogram.", True),
        ("how many studies were there?", "Across 26 studies with follow-up times.", True),
        ("how many trials were run?", "Across 26 studies with follow-up times.", True),
        # each "how many" of a message counts; people are counted in many ways
        ("how much research is there, how many studies?", "Across 26 studies.", True),
        ("how many people get it?", "It affects 1 in 20,000 newborns.", True),
        ("how many of them got headaches?", "Across 26 studies, headaches were mild.", True),
    ],
)
def test_a_count_counts_what_was_asked(question: str, sentence: str, has: bool) -> None:
    assert gives(frozenset({"count"}), sentence, question) is has


def test_a_question_that_asks_for_no_detail_takes_any_sentence() -> None:
    assert gives(frozenset(), "Not all stem cell products match this safety level.")


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("how much does it cost, like 10k?", ["cost"]),
        ("how much would I pay for it", ["pay"]),
        ("how much are we talking", []),
        ("is it available on the nhs?", ["nhs"]),
        ("which hospital is running the trial?", ["hospital"]),
        # the verbs that ask where or who name nothing the sources could lack
        ("where is the huntington's trial being done?", []),
        ("who is running the huntingtons trial?", []),
    ],
)
def test_what_names_the_detail_asked_for(question: str, named: list[str]) -> None:
    spans = asking_spans(expected(question), question)
    assert [question[s:e] for s, e in spans] == named
