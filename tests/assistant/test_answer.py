"""Answer behaviour on the real seed article with the real model."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assistant.answer import Answerer, QuestionError
from corpus.verbatim import SourceTexts, is_verbatim
from tests.conftest import Watched


@pytest.fixture(scope="module")
def answerer(embedder):  # type: ignore[no-untyped-def]
    return Answerer(embedder)


def test_known_question_returns_the_expected_sentence_first(answerer, seed_version) -> None:  # type: ignore[no-untyped-def]
    answer = answerer.ask(seed_version, "What is stem cell tourism?")
    assert answer.status == "answered"
    assert answer.answer[0].text.startswith("Stem cell tourism, where people travel for banned")
    assert answer.index_version == seed_version.name


def test_every_answer_sentence_is_verbatim_source_text(answerer, seed_version) -> None:  # type: ignore[no-untyped-def]
    sources = SourceTexts()  # the seed article file itself, read apart from extraction
    for question in (
        "Can stem cells cause tumors?",
        "Is stem cell therapy safe for lung disease?",
        "Why are unproven clinic treatments risky?",
    ):
        answer = answerer.ask(seed_version, question)
        assert answer.answer
        for sentence in answer.answer:
            doc = seed_version.documents[sentence.source_id]
            assert is_verbatim(doc, sentence.text, sentence.start, sentence.end, sources)
        for passage in answer.passages:
            for start, end in passage.highlights:
                assert passage.text[start:end] in {s.text for s in answer.answer}


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of France?",
        "How do I bake sourdough bread?",
        "asdf qwerty zxcv",
        "12345 67890",  # no word any source uses: answered (0.92) before that was a rule
        "¿Cuál es la mejor playa de México?",
        "<script>alert(1)</script>",
    ],
)
def test_out_of_scope_or_gibberish_gets_no_answer(answerer, seed_version, question: str) -> None:  # type: ignore[no-untyped-def]
    answer = answerer.ask(seed_version, question)
    assert answer.status == "no_answer"
    assert answer.answer == ()


def seed_and(embedder, tmp_path_factory, *documents: tuple[str, str]):  # type: ignore[no-untyped-def]
    """A version of the seed article and more documents ((source id, text), the title on the
    text's first line)."""
    from corpus.extract import Meta, extract_plain
    from index import store
    from index.build import build
    from tests.conftest import seed_documents

    index_dir = tmp_path_factory.mktemp(documents[0][0])
    more = [extract_plain(text.encode(), Meta(source_id=i)) for i, text in documents]
    build([*seed_documents(), *more], index_dir, embedder)
    return store.load(index_dir, embedder.model_id, embedder.dim)


@pytest.fixture(scope="module")
def two_studies(embedder, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The seed article plus a second document that also counts patients."""
    audit = (
        "Knee clinic audit\nThe audit of knee injections at a private clinic included 12 "
        "patients. Most of them paid for the injections themselves."
    )
    return seed_and(embedder, tmp_path_factory, ("audit", audit))


def test_a_follow_up_is_quoted_only_from_pages_that_name_its_subject(  # type: ignore[no-untyped-def]
    answerer, embedder, tmp_path_factory
) -> None:
    kawasaki = (
        "Kawasaki disease\nKawasaki disease causes swelling in the walls of blood vessels. "
        "Kawasaki disease is not contagious; it can't be passed from one child to another."
    )
    shingles = (
        "Shingles\nShingles is a painful rash caused by the virus that causes chickenpox. "
        "The rash usually appears on one side of the body."
    )
    version = seed_and(embedder, tmp_path_factory, ("kawasaki", kawasaki), ("shingles", shingles))
    alone = answerer.ask(version, "is kawasaki disease contagious?")
    assert alone.answer and "not contagious" in alone.answer[0].text
    # "it" is shingles, which the Kawasaki page never names: its "not contagious" is no
    # answer (on MedQuAD this follow-up quoted the Kawasaki and Parkinson's pages)
    follow = answerer.ask(version, "is it contagious?", ["tell me about shingles"])
    assert follow.used_history and not any("Kawasaki" in s.text for s in follow.answer)
    # ... while a follow-up that turns to Kawasaki disease is quoted from its page
    turned = answerer.ask(version, "what about Kawasaki disease?", ["is shingles contagious?"])
    assert turned.answer and "not contagious" in turned.answer[0].text


def test_a_short_form_the_sources_define_is_read_as_they_define_it(  # type: ignore[no-untyped-def]
    answerer, embedder, tmp_path_factory
) -> None:
    page = (
        "Chronic lymphocytic leukemia\nChronic lymphocytic leukemia (CLL) is a cancer of the "
        "blood and bone marrow. CLL usually gets worse slowly. Most people with CLL are older "
        "adults. CLL is not passed down from parents to children, but having a parent, brother "
        "or sister with it raises the risk a little. Treatment may not be needed at first."
    )
    version = seed_and(embedder, tmp_path_factory, ("cll", page))
    question = "my dad has CLL, will my kids get it?"
    scored = answerer.score(version, question, [])
    page_vector = version.vectors[[c.source_id for c in version.chunks].index("cll")]
    as_written = embedder.encode([question])[0]
    # the model reads "CLL" poorly; with the definition the question sits nearer the page
    # (cosine 0.68 against 0.49 as written)
    assert scored.analysis.vector @ page_vector > as_written @ page_vector + 0.05
    answer = answerer.ask(version, question)
    assert answer.status == "answered"
    assert answer.answer[0].text.startswith("CLL is not passed down from parents to children")


def test_follow_up_resolves_with_history_and_differs_without(answerer, two_studies) -> None:  # type: ignore[no-untyped-def]
    question = "How many patients were in it?"
    spinal = answerer.ask(
        two_studies, question, ["Was there a large study of MSCs in spinal cord injury?"]
    )
    assert spinal.used_history and "70 patients" in spinal.answer[0].text
    knee = answerer.ask(two_studies, question, ["Did a clinic audit knee injections?"])
    assert "12 patients" in knee.answer[0].text
    alone = answerer.ask(two_studies, question)
    assert not alone.used_history and alone.resolved_query == question
    assert alone.status == "no_answer" or "70 patients" not in alone.answer[0].text


def test_self_contained_question_is_not_dragged_to_the_previous_topic(
    answerer,
    seed_version,  # type: ignore[no-untyped-def]
) -> None:
    answer = answerer.ask(
        seed_version,
        "What does GMP mean?",
        ["Is there a trial of stem cells for Huntington's disease?"],
    )
    assert not answer.used_history
    assert "GMP" in answer.answer[0].text


@pytest.mark.parametrize(
    ("question", "history", "message"),
    [
        ("", [], "empty"),
        ("   ", [], "empty"),
        ("\u00a0\u200b\ufeff", [], "empty"),  # no-break and zero-width spaces only
        ("x" * 2001, [], "longer than 2000"),
        ("ok?", ["q"] * 11, "more than 10"),
        ("ok?", ["y" * 2001], "history question is longer"),
    ],
)
def test_bad_questions_are_refused_clearly(
    answerer,
    seed_version,
    question: str,
    history: list[str],
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    with pytest.raises(QuestionError, match=message):
        answerer.ask(seed_version, question, history)


def test_on_topic_question_the_sources_do_not_answer_names_what_is_missing(
    answerer,
    seed_version,  # type: ignore[no-untyped-def]
) -> None:
    answer = answerer.ask(seed_version, "Can stem cells cure autism?")
    assert answer.status == "no_answer" and answer.answer == ()
    assert answer.not_covered == ("autism",)


@pytest.mark.parametrize(
    "question",
    [
        "Is stem cell therapy covered by insurance?",
        "Which stem cell clinics in Mexico can I trust?",
        "Does a stem cell injection hurt?",
    ],
)
def test_on_topic_questions_about_what_the_article_never_discusses_are_declined(
    answerer,
    seed_version,
    question: str,  # type: ignore[no-untyped-def]
) -> None:
    answer = answerer.ask(seed_version, question)
    assert answer.status == "no_answer" and answer.answer == ()
    assert answer.not_covered and all(phrase in question for phrase in answer.not_covered)


@pytest.mark.parametrize(
    ("question", "missing"),
    [
        ("Can stem cells help with MS?", ("MS",)),
        ("can stem cell treatment fix my CP", ("CP",)),
        ("Is stem cell therapy available in the UK?", ("UK",)),
    ],
)
def test_a_two_letter_acronym_the_sources_never_use_is_what_is_missing(
    answerer,
    seed_version,
    question: str,
    missing: tuple[str, ...],  # type: ignore[no-untyped-def]
) -> None:
    answer = answerer.ask(seed_version, question)
    assert answer.status == "no_answer" and answer.answer == ()
    assert answer.not_covered == missing


def test_a_word_too_common_to_name_anything_is_declined_unnamed(answerer, seed_version) -> None:  # type: ignore[no-untyped-def]
    # "every" carried the question ("The sources don't mention every" was shown); the
    # decision stands, the naming drops it. A rarer word beside it is still named.
    answer = answerer.ask(seed_version, "do stem cells work every time?")
    assert answer.status == "no_answer" and answer.not_covered == ()
    answer = answerer.ask(seed_version, "Can stem cells cure autism every time?")
    assert answer.status == "no_answer" and "autism" in answer.not_covered
    assert "every" not in answer.not_covered


def test_a_closing_line_is_not_a_question_whose_words_go_missing(answerer, seed_version) -> None:  # type: ignore[no-untyped-def]
    # weighed as a question of its own, "Any advice appreciated." named "advice appreciated"
    for message in (
        "Can stem cells cause tumours? Any advice appreciated.",
        "Were there side effects in the studies? Any help would be great, thanks",
    ):
        answer = answerer.ask(seed_version, message)
        assert answer.status == "answered" and answer.not_covered == (), message


def test_a_word_no_source_uses_is_weighed_in_the_question_it_is_in(answerer, seed_version) -> None:  # type: ignore[no-untyped-def]
    # one sentence, a story and then the question: weighed in all of it "MS" carried too
    # little to be named, and the patient was told nothing
    message = (
        "my mum has MS and shes been reading about stem cells on facebook, is it actually "
        "safe for MS patients or is it all a scam?"
    )
    answer = answerer.ask(seed_version, message)
    assert answer.status == "no_answer" and answer.not_covered == ("MS",)


def test_a_question_declined_on_its_evidence_names_what_together_carries_it(
    answerer,
    seed_version,  # type: ignore[no-untyped-def]
) -> None:
    # no absent word reaches the focus threshold alone, so the refusal named nothing
    answer = answerer.ask(
        seed_version, "does the council pay for stem cell treatment for hip cartilage damage"
    )
    assert answer.status == "no_answer" and answer.answer == ()
    assert "hip cartilage" in answer.not_covered


def test_whom_a_question_is_for_is_not_reported_as_missing(answerer, seed_version) -> None:  # type: ignore[no-untyped-def]
    answer = answerer.ask(
        seed_version, "what about for stroke? my gran had one in march", ["Are stem cells safe?"]
    )
    assert answer.status == "no_answer" and answer.not_covered == ("stroke",)
    answer = answerer.ask(
        seed_version, "is there an age limit for stem cell treatment? my dad is 82 and active"
    )
    assert answer.status == "no_answer" and answer.not_covered == ("age",)


def test_short_capitals_that_name_nothing_do_not_block_an_answer(
    answerer,
    seed_version,  # type: ignore[no-untyped-def]
) -> None:
    for question in ("OK, are stem cells safe?", "HI, CAN STEM CELLS CAUSE TUMORS?"):
        answer = answerer.ask(seed_version, question)
        assert answer.status == "answered" and answer.not_covered == (), question


def test_what_kind_of_frames_the_question_and_names_nothing(answerer, seed_version) -> None:  # type: ignore[no-untyped-def]
    # no source says "kind" or "sort": in a short question the frame weighed as its subject
    # and the page said "The sources don't mention kind"
    for question in ("what kind of stem cells", "What sort of stem cells do doctors use?"):
        answer = answerer.ask(seed_version, question)
        assert answer.status == "answered" and answer.not_covered == (), question
        assert "bone marrow or embryos" in answer.answer[0].text
    # ... a subject after the frame is still weighed
    autism = answerer.ask(seed_version, "what kind of stem cells help with autism?")
    assert autism.status == "no_answer" and autism.not_covered == ("autism",)


@pytest.mark.parametrize(
    ("history", "question", "quoted"),
    [
        # the earlier turn was declined for "mentioned", so the follow-up, which leans on it,
        # was declined naming nothing
        (
            ["my brother has a spinal cord injury from a motorbike crash, his doc mentioned msc"],
            "how long did they follow ppl up in those studies? like months or yrs",
            "Across 26 studies",
        ),
        # "bro" is who the message is about, not what it asks about: never named
        # (quoted: a sentence giving a span of time, "even after 18 months" or "from six
        # months to five years")
        (
            ["my bro has a spinal cord injury"],
            "how long did they keep track of ppl in the msc studies",
            "months",
        ),
        ([], "my sis had a spinal cord injury, were msc safe?", "MSCs"),
    ],
)
def test_words_that_frame_a_message_are_not_weighed_as_its_subject(
    answerer, seed_version, history: list[str], question: str, quoted: str
) -> None:  # type: ignore[no-untyped-def]
    answer = answerer.ask(seed_version, question, history)
    assert answer.status == "answered" and answer.not_covered == ()
    assert quoted in answer.answer[0].text


def test_hearing_and_reading_are_subjects_not_frames(answerer, seed_version) -> None:  # type: ignore[no-untyped-def]
    # "i heard ..." frames a message, but hearing loss is something patients ask about
    answer = answerer.ask(seed_version, "do stem cells help hearing loss?")
    assert answer.status == "no_answer" and "hearing" in answer.not_covered


@pytest.mark.parametrize("repeat", [1, 3])
def test_a_question_the_sources_do_not_answer_inside_a_long_story_names_what_is_missing(
    answerer,
    seed_version,
    repeat: int,  # type: ignore[no-untyped-def]
) -> None:
    story = (
        "Hello, I am writing for my son who is seven. We have tried speech therapy, occupational "
        "therapy and special diets for years and we are exhausted. A clinic abroad contacted us "
        "after we posted in a parents group and they sound very confident. "
    ) * repeat
    answer = answerer.ask(seed_version, story + "Can stem cells cure autism?")
    assert answer.status == "no_answer" and answer.answer == ()
    assert answer.not_covered == ("autism",)
    # the same story around a question the sources answer is still answered
    answered = answerer.ask(
        seed_version, story + "What side effects did people have in the studies?"
    )
    assert answered.status == "answered"


@pytest.mark.parametrize("question", ["is there a stem cell trial for HD?", "a trial for hd?"])
def test_an_acronym_for_what_the_sources_name_is_read_as_that_name(
    answerer, seed_version, question: str
) -> None:  # type: ignore[no-untyped-def]
    answer = answerer.ask(seed_version, question)
    assert answer.status == "answered" and answer.not_covered == ()
    assert "Huntington" in answer.answer[0].text
    assert "huntington disease" in answer.resolved_query


@pytest.mark.parametrize(
    ("question", "missing"),
    [
        ("can stem cells help with ms", ["ms"]),  # typed in lower case, named after "with"
        ("can stem cells help with ALS?", ["ALS"]),  # no source says its name either
    ],
)
def test_an_acronym_for_what_no_source_names_is_not_covered(
    answerer, seed_version, question: str, missing: list[str]
) -> None:  # type: ignore[no-untyped-def]
    answer = answerer.ask(seed_version, question)
    assert answer.status == "no_answer" and list(answer.not_covered) == missing


def test_a_short_lower_case_word_outside_a_condition_frame_is_no_acronym(
    answerer, seed_version
) -> None:  # type: ignore[no-untyped-def]
    answer = answerer.ask(seed_version, "i saw an ad for a stem cell clinic, are they safe?")
    assert answer.status == "answered" and answer.not_covered == ()


def test_british_spelling_paraphrase_finds_its_sentence(answerer, seed_version) -> None:  # type: ignore[no-untyped-def]
    answer = answerer.ask(seed_version, "can stem cells cause tumours")
    assert answer.status == "answered"
    assert any(s.text.startswith("There are worries about tumors") for s in answer.answer[:3])


@pytest.mark.parametrize(
    ("question", "missing"),
    [
        # "blood recovery after transplants" shares the words and gives no span of time; every
        # word of the question is in the source, so none is named
        ("How long is the recovery after a stem cell infusion?", []),
        # no sentence on money comes close; the word that asks for it is in no source
        ("how much does a stem cell transplant cost", ["cost"]),
        # who runs the trial, which no sentence says ("running" names nothing to lack), and
        # how to join it
        ("who is running the huntingtons trial?", []),
        ("where does she sign up for that 2026 trial", []),
    ],
)
def test_a_detail_no_sentence_gives_is_not_answered_with_related_words(
    answerer, seed_version, question: str, missing: list[str]
) -> None:  # type: ignore[no-untyped-def]
    answer = answerer.ask(seed_version, question)
    assert answer.status == "no_answer", [s.text for s in answer.answer]
    assert list(answer.not_covered) == missing
    assert answer.passages  # related reading is still shown


def test_a_price_asked_without_a_word_for_money_is_not_answered(answerer, seed_version) -> None:  # type: ignore[no-untyped-def]
    # it quoted "MSCs have been tested in people with spinal cord injuries"
    history = ["is there a stem cell treatment for spinal cord injury?"]
    for question in ("how much is it?", "how much will it set me back"):
        answer = answerer.ask(seed_version, question, history)
        assert answer.status == "no_answer" and answer.not_covered == (), question
    # ... nor who pays, asked of a public payer: the follow-up weighs "nhs" joined with the
    # earlier turn, too lightly to decline it, and it quoted the lung trial
    history = ["my dad has pulmonary fibrosis, is the MSC lung trial safe"]
    answer = answerer.ask(seed_version, "is it available on the nhs?", history)
    assert answer.status == "no_answer" and answer.not_covered == ("nhs",)


def test_a_detail_is_quoted_from_the_sentence_that_gives_it(answerer, seed_version) -> None:  # type: ignore[no-untyped-def]
    # the topic sentence ("MSCs have been tested in people with spinal cord injuries") scores
    # best; the sentence after it holds the follow-up times
    answer = answerer.ask(
        seed_version, "how long did they follow people in the spinal cord studies"
    )
    assert answer.status == "answered"
    assert answer.answer[0].text.startswith("Across 26 studies with follow-up times")
    # every quote gives a span of time: the two sentences of the article that do
    spans = ("Across 26 studies with follow-up times", "One large study with 70 patients")
    assert all(s.text.startswith(spans) for s in answer.answer)
    # ... also when it scores far below the topic sentence (more than `sentence_margin`), and
    # the year of the 2026 trial is no count to quote instead
    counted = answerer.ask(
        seed_version, "so how many studies have really tested MSCs in spinal cord injury"
    )
    assert counted.status == "answered"
    assert [s.text[:16] for s in counted.answer] == ["Across 26 studie"]


@pytest.mark.parametrize(
    ("history", "question"),
    [
        # the count the article gives is of the spinal study's patients, in another paragraph
        (
            ["new trial in 2026 for huntingtons, anyone know about it"],
            "how many patients r they enrolling",
        ),
        # a follow-up is also about what the earlier turn named: "people" are counted in the
        # spinal study's paragraph, the lung trial's gives no count
        (["what did the lung trial find?"], "how many people were in that one?"),
        # the spans it gives are follow-up times of the spinal studies, not a recovery
        ([], "how long is the recovery after the treatment, will I need to take time off work?"),
    ],
)
def test_a_detail_the_sources_give_of_another_subject_does_not_answer(
    answerer, seed_version, history: list[str], question: str
) -> None:  # type: ignore[no-untyped-def]
    answer = answerer.ask(seed_version, question, history)
    assert answer.status == "no_answer", [s.text for s in answer.answer]


def test_answers_offered_beside_an_uncovered_detail_are_no_question_of_their_own(
    answerer, seed_version
) -> None:  # type: ignore[no-untyped-def]
    # without "run" (no source uses it) the message is "a few years?": it was answered with
    # the spinal studies' follow-up of "six months to five years"
    answer = answerer.ask(
        seed_version,
        "how long does it run for? a few years?",
        ["tell me about the huntingtons trial"],
    )
    assert answer.status == "no_answer" and answer.not_covered == ("run",)


def test_what_only_tells_beside_an_uncovered_question_is_not_asked_again(
    answerer, seed_version
) -> None:  # type: ignore[no-untyped-def]
    # without its question ("too old": "old" is in no source) the message is "he's 67": it
    # was asked again after the Huntington's turns and quoted the trial
    history = [
        "My dad was diagnosed with Huntington's in 2021",
        "I read there's a stem cell trial for Huntington's coming, when is that?",
    ]
    answer = answerer.ask(seed_version, "he's 67, would he be too old for it?", history)
    assert answer.status == "no_answer", [s.text for s in answer.answer]
    # ... while a rest that asks, or names a subject, is still answered on its own
    answer = answerer.ask(
        seed_version, "Is there a trial in Australia I could join? Are the trials safe?"
    )
    assert answer.status == "answered" and "Australia" in answer.not_covered


def test_tried_is_read_as_the_articles_trial(answerer, seed_version) -> None:  # type: ignore[no-untyped-def]
    # it was declined naming "tried"; the article says "A trial infusing MSCs into lungs ..."
    answer = answerer.ask(
        seed_version,
        "My dad has pulmonary fibrosis and his consultant mentioned stem cells. Have they been "
        "tried in the lungs?",
    )
    assert answer.status == "answered" and answer.not_covered == ()
    assert answer.answer[0].text.startswith("A trial infusing MSCs into lungs")


def test_a_story_that_heard_about_stem_cells_names_no_condition(answerer, seed_version) -> None:  # type: ignore[no-untyped-def]
    # "hearing" names a condition in medical titles ("hearing loss"); "keep hearing about"
    # does not, and the follow-up on the Huntington's trial was declined for it
    history = [
        "My father has Huntington's disease. We keep hearing about stem cells.",
        "Is there any trial using stem cells for Huntington's?",
    ]
    answer = answerer.ask(seed_version, "When is it supposed to start?", history)
    assert answer.status == "answered"
    assert answer.answer[0].text.startswith("A new trial starting in 2026")


@pytest.mark.parametrize(
    "question",
    ["?!", "what is it", "the and of", "...", "tell me more", "go back"],  # no earlier turn
)
def test_stop_words_or_punctuation_get_no_answer_and_nothing_missing(
    answerer,
    seed_version,
    question: str,  # type: ignore[no-untyped-def]
) -> None:
    answer = answerer.ask(seed_version, question)
    assert answer.status == "no_answer" and answer.not_covered == ()


def test_one_document_corpus_shows_more_than_one_passage(answerer, seed_version) -> None:  # type: ignore[no-untyped-def]
    answer = answerer.ask(seed_version, "Are stem cell treatments safe?")
    assert len({p.chunk_id for p in answer.passages}) > 1
    assert {p.source_id for p in answer.passages} == {"are-stem-cell-products-safe"}


def test_long_personal_message_is_accepted_and_answered(answerer, seed_version) -> None:  # type: ignore[no-untyped-def]
    message = (
        "Stem cells for my dad.. Hi, my father is 64 and had a spinal cord injury in a fall two "
        "years ago. A clinic abroad offered him mesenchymal stem cell injections and my "
        "brother wants to pay for it, but I'm worried. I've read so many things online. "
    ) * 4 + "What side effects did people with spinal cord injuries have in the MSC studies?"
    assert 1000 < len(message) <= 2000
    answer = answerer.ask(seed_version, message)
    assert answer.status == "answered"
    assert any("headaches or short fevers" in s.text for s in answer.answer)


@pytest.mark.parametrize(
    ("question", "history", "expected"),
    [
        (
            "what did the earlier animal work find?",
            ["When does the Huntington's disease trial start?"],
            "building on animal studies that showed no long-term harm",
        ),
        (
            "how many studies were there?",
            ["What research has been done on MSCs for spinal cord injury?"],
            "Across 26 studies",
        ),
    ],
)
def test_follow_ups_find_what_the_earlier_turn_was_about(
    answerer,
    seed_version,
    question: str,
    history: list[str],
    expected: str,  # type: ignore[no-untyped-def]
) -> None:
    answer = answerer.ask(seed_version, question, history)
    assert answer.status == "answered"
    assert any(expected in s.text for s in answer.answer)


def test_a_follow_up_that_names_nothing_is_answered_with_the_earlier_turn(
    answerer,
    seed_version,  # type: ignore[no-untyped-def]
) -> None:
    history = ["What research has been done on MSCs for spinal cord injury?"]
    answer = answerer.ask(seed_version, "how many studies were there?", history)
    assert answer.status == "answered" and answer.used_history
    assert any("Across 26 studies" in s.text for s in answer.answer)
    # asked alone it reads alone (any count in the article may answer it then)
    alone = answerer.ask(seed_version, "how many studies were there?")
    assert not alone.used_history and "MSCs" not in alone.resolved_query


def test_a_follow_up_on_a_subject_every_source_word_covers_makes_one_model_call(
    embedder,
    seed_version,  # type: ignore[no-untyped-def]
) -> None:
    calls: list[list[str]] = []
    answerer = Answerer(Watched(embedder, calls.append))  # type: ignore[arg-type]

    history = ["Is there a trial of stem cells for Huntington's disease?"]
    answer = answerer.ask(seed_version, "When does it start?", history)
    assert answer.status == "answered" and answer.used_history
    assert len(calls) == 1  # the earlier turn has no word to weigh: it is not embedded alone
    calls.clear()
    answerer.ask(seed_version, "is it safe?", ["can stem cells cure autism?"])
    assert ["can stem cells cure autism?"] in [c[:1] for c in calls]  # "autism" is weighed


@pytest.mark.parametrize("history", [[], ["What is stem cell tourism?"]])
def test_a_question_about_the_assistant_gets_no_quotes(answerer, seed_version, history) -> None:  # type: ignore[no-untyped-def]
    # "are you a real doctor" names two words, as many as a question that stands alone, yet
    # asks what the assistant is: it was answered with "Doctors and researchers use ..."
    for question in (
        "Are you a doctor?",
        "what are you?",
        "can you help me?",
        "are you a real doctor",
    ):
        answer = answerer.ask(seed_version, question, history)
        assert answer.status == "no_answer" and not answer.answer and not answer.not_covered
    asked = answerer.ask(seed_version, "Can you tell me if stem cells cause tumours?", history)
    assert asked.status == "answered"
    # said beside a real question, or earlier in the chat, it chooses nothing
    both = answerer.ask(seed_version, "Are you a doctor? Do stem cells cause tumours?", history)
    assert both.status == "answered" and "Doctors" not in both.answer[0].text
    assert both.question == "Are you a doctor? Do stem cells cause tumours?"
    after = answerer.ask(seed_version, "and is it safe?", [*history, "Are you a doctor?"])
    assert (
        after.resolved_query
        == answerer.ask(seed_version, "and is it safe?", history).resolved_query
    )


def test_going_back_to_an_earlier_subject_is_not_a_subject_the_sources_lack(
    answerer,
    seed_version,  # type: ignore[no-untyped-def]
) -> None:
    history = ["Are stem cell treatments safe for spinal cord injury?", "what about lung disease?"]
    answer = answerer.ask(seed_version, "go back to the spinal cord one", history)
    assert answer.used_history and "back" not in answer.not_covered
    assert answer.status == "answered" and "spinal cord" in answer.answer[0].text


def test_a_message_typed_in_a_hurry_is_read_as_meant(answerer, seed_version) -> None:  # type: ignore[no-untyped-def]
    # "efects" and "cels": a patient's typos, not subjects the sources lack
    answer = answerer.ask(seed_version, "whats the side efects of stem cels")
    assert answer.status == "answered" and not answer.not_covered
    assert any("side effects were mostly mild" in s.text for s in answer.answer)
    # a capital that only opens the sentence is not a name
    opening = answerer.ask(seed_version, "Cels from bone marrow: are they safe?")
    assert opening.status == "answered" and "cells from bone marrow" in opening.resolved_query


def test_a_web_address_in_a_question_is_left_as_typed(answerer, seed_version) -> None:  # type: ignore[no-untyped-def]
    # "cels" and "tumr" outside an address are read as "cells" and "tumor"; inside, left be
    link = "https://www.cels-clinic.example/tumr"
    answer = answerer.ask(seed_version, f"I read {link} - is stem cell tourism safe for cels?")
    assert link in answer.resolved_query and answer.resolved_query.endswith("for cells?")
    assert not any(part in link for part in answer.not_covered)
    only_a_link = answerer.ask(seed_version, "https://www.cancer.gov/types/myeloma")
    assert only_a_link.status == "no_answer" and not only_a_link.answer
    # ... nor after a turn the sources answer (it was read as a follow-up of that turn)
    clinic = "https://www.stemcellclinic-mexico.example/cerebral-palsy-treatment"
    after = answerer.ask(seed_version, clinic, ["What is stem cell tourism?"])
    assert after.status == "no_answer" and not after.answer


def test_spaces_around_a_question_do_not_count_and_accents_are_composed(
    answerer,
    seed_version,  # type: ignore[no-untyped-def]
) -> None:
    body = "x" * (answerer.settings.max_question_chars - 1) + "?"  # exactly at the limit
    assert answerer.ask(seed_version, "   " + body + "\u200b").question == body
    # "e" + combining acute, as some keyboards send it: one letter, not "ste" and a mark
    answer = answerer.ask(seed_version, "Are ste\u0301m cell treatments safe?")
    assert answer.question == "Are st\u00e9m cell treatments safe?"
    assert "ste" not in answer.not_covered


def test_a_message_of_several_questions_answers_those_the_sources_cover(
    answerer,
    seed_version,  # type: ignore[no-untyped-def]
) -> None:
    message = (
        "My physio mentioned research on stem cells for spinal cord injury. Were there "
        "serious side effects in the studies? Also is there anything in Australia I could join?"
    )
    answer = answerer.ask(seed_version, message)
    # weighed in its own question, "join" is named too: the sources say nothing of joining
    assert answer.status == "answered" and answer.not_covered[0] == "Australia"
    assert answer.question == message and "Australia" not in answer.resolved_query
    assert any("side effects were mostly mild" in s.text for s in answer.answer)
    # the one question left is not answered by the sources either: no answer, as before
    both = answerer.ask(seed_version, "Can stem cells cure autism? Is it expensive?")
    assert both.status == "no_answer" and "autism" in both.not_covered
    # an uncovered question inside the covered one's sentence, or after it, is named, not
    # dropped: weighed in the whole message "NHS" carried too little to count
    for mixed in (
        "What side effects did people get in the spinal cord trials, and does the NHS pay?",
        "What side effects did people get in the spinal cord trials? Does the NHS pay for it?",
        # a question typed without its "?" after one with it
        "Were there side effects in the spinal cord studies? and can I get it on the NHS",
    ):
        answer = answerer.ask(seed_version, mixed)
        assert answer.status == "answered" and len(answer.not_covered) == 1, mixed
        assert answer.not_covered[0].startswith("NHS"), mixed  # "NHS", or "NHS pay"
        assert "side effects were mostly mild" in answer.answer[0].text


def test_a_new_question_no_reading_answers_keeps_its_own_related_reading(
    answerer,
    seed_version,  # type: ignore[no-untyped-def]
) -> None:
    # With a bar nothing reaches (and no word vetoed as not covered, so the second reading
    # is tried), the question joined with the earlier turn (which scores higher: spinal cord
    # research) must not replace the question as asked. Before, it did.
    scorer = replace(answerer.scorer, answer_threshold=1.0, focus_threshold=float("inf"))
    strict = Answerer(answerer.embedder, scorer=scorer)
    history = ["What research has been done on MSCs for spinal cord injury?"]
    question = "How do I get ear wax out safely?"
    joined = strict.score(seed_version, f"{history[0]} {question}", [])
    alone = strict.score(seed_version, question, [])
    assert joined is not None and alone is not None and joined.answerable > alone.answerable
    answer = strict.ask(seed_version, question, history)
    assert answer.status == "no_answer" and not answer.used_history
    assert answer.resolved_query == question


def test_a_question_leaning_on_a_word_no_source_uses_is_not_rescued_by_history(
    answerer,
    seed_version,  # type: ignore[no-untyped-def]
) -> None:
    history = ["Is there a trial of stem cells for Huntington's disease?", "When does it start?"]
    answer = answerer.ask(seed_version, "How do I bake sourdough bread?", history)
    assert answer.status == "no_answer" and not answer.used_history
    assert "sourdough" in " ".join(answer.not_covered)


@pytest.mark.parametrize(
    ("history", "question"),
    [
        (["Can stem cells cure autism?"], "What side effects did they see?"),
        (["Can stem cells cure autism?", "What side effects did they see?"], "how long for?"),
        (["Is stem cell therapy safe for pulmonary fibrosis?", "what about ALS?"], "is it safe?"),
        # the first turn names the subject even when "there" reads as pointing back
        (["is there a stem cell trial for ALS?"], "how many patients are in it?"),
        # a turn that leans on a covered one but was declined for its own subject
        (["Are stem cell treatments safe?", "can they cure autism?"], "what did they see?"),
        # "the trial" is a Parkinson's trial: it quoted the Huntington's trial's 2026 start
        (["Can stem cells help Parkinson's?"], "When does the trial start?"),
    ],
)
def test_a_follow_up_about_a_subject_no_source_covers_gets_no_quotes(
    answerer, seed_version, history: list[str], question: str
) -> None:  # type: ignore[no-untyped-def]
    # the joined text leans on the earlier turn's covered words ("side effects"), so without
    # the earlier turn's own reading it quoted the spinal cord figures
    answer = answerer.ask(seed_version, question, history)
    assert answer.used_history
    assert answer.status == "no_answer" and not answer.answer
    assert not answer.not_covered  # the missing subject is an earlier turn's word, not this one's


@pytest.mark.parametrize(
    ("history", "question", "missing"),
    [
        (
            ["Have MSCs been tested in people with spinal cord injuries?"],
            "Do they help with autism?",
            "autism",
        ),
        (["Are stem cell treatments safe?"], "Does my insurance cover them?", "insurance"),
    ],
)
def test_a_follow_up_naming_a_subject_no_source_covers_is_declined_for_it(
    answerer, seed_version, history: list[str], question: str, missing: str
) -> None:  # type: ignore[no-untyped-def]
    # joined with the covered turn, "autism" moves the embedding less than alone: weighed
    # against the whole focus threshold, the spinal cord figures were quoted
    answer = answerer.ask(seed_version, question, history)
    assert answer.used_history
    assert answer.status == "no_answer" and missing in answer.not_covered
    # ... while a follow-up on the covered subject is still answered
    covered = answerer.ask(seed_version, "how long were they followed up?", history[:1])
    assert covered.status == "answered"


def test_a_declined_turn_does_not_hide_the_covered_subject_when_it_asked_more(
    answerer,
    seed_version,  # type: ignore[no-untyped-def]
) -> None:
    # the middle turn asked about a trial in Australia and about side effects: the follow-up
    # is about the side effects, which the sources cover
    history = [
        "What did the studies of MSCs in spinal cord injuries find?",
        "Is there a trial in Australia I could join? Were there side effects?",
    ]
    answer = answerer.ask(seed_version, "how long were they followed?", history)
    assert answer.status == "answered" and "26 studies" in answer.answer[0].text
    # a covered subject after the declined turn is answered as before
    history = ["Are stem cell treatments safe?", "can they cure autism?"]
    back = answerer.ask(seed_version, "what about spinal cord injuries?", history)
    assert back.status == "answered" and "spinal cord" in back.answer[0].text


@pytest.mark.parametrize(
    "aside",
    [
        "shes 30 now",  # "shes": she's, a pronoun pointing back, not a subject of its own
        "she is 30 and loves knitting",  # tells, asks nothing: the story, not a new subject
    ],
)
def test_a_story_turn_that_only_tells_does_not_become_the_subject(
    answerer, seed_version, aside: str
) -> None:  # type: ignore[no-untyped-def]
    history = ["my sister hurt her spinal cord in a riding accident", aside]
    answer = answerer.ask(seed_version, "were there tumours in those studies", history)
    assert answer.used_history and answer.status == "answered"
    assert "tumors" in answer.answer[0].text
    # ... while a story whose subject no source covers still declines what follows it
    history = ["my mum has lupus", "shes been in hospital twice"]
    declined = answerer.ask(seed_version, "would the stem cells be safe for her", history)
    assert declined.status == "no_answer"
    # ... and so does a statement that stands alone and names an uncovered subject
    history = ["is stem cell treatment safe?", "my boy has autism"]
    assert answerer.ask(seed_version, "would it help him", history).status == "no_answer"


@pytest.mark.parametrize(
    ("history", "question"),
    [
        (
            ["my daughter has lupus", "we saw stem cell treatment advertised for lupus"],
            "is it safe for her?",
        ),
        (["my dad has parkinsons", "his friend had stem cells in mexico"], "would it help him?"),
        (
            ["my mum has arthritis in her knees", "a clinic offers stem cell injections for it"],
            "does it work?",
        ),
        (
            ["my boy is 7", "he has autism", "i read stem cells are being tried for it"],
            "is it safe for him?",
        ),
    ],
)
def test_a_story_about_an_uncovered_condition_is_declined_beside_the_corpus_topic(
    answerer, seed_version, history: list[str], question: str
) -> None:  # type: ignore[no-untyped-def]
    # "stem cells" is what every source is about: it must not make the story about them
    # ("In controlled studies, these cells often prove safe." is no answer for lupus)
    assert answerer.ask(seed_version, question, history).status == "no_answer"


def test_words_no_source_uses_around_a_covered_condition_are_the_story_not_its_subject(
    answerer, seed_version
) -> None:  # type: ignore[no-untyped-def]
    # "bricklayer" and "Leeds" are in no source, but the story is about pulmonary fibrosis
    history = [
        "my uncle was a bricklayer in Leeds for 40 years",
        "he was diagnosed with pulmonary fibrosis in march",
    ]
    question = "was putting stem cells into the lungs safe for people like him?"
    answer = answerer.ask(seed_version, question, history)
    assert answer.status == "answered" and "pulmonary fibrosis" in answer.answer[0].text
    # "oxygen" and "night" are in a title or two ("Oxygen Therapy"), but everyday words
    history = ["my dad is on oxygen at night, he has pulmonary fibrosis", "he was a plumber"]
    answer = answerer.ask(seed_version, question, history)
    assert answer.status == "answered" and "pulmonary fibrosis" in answer.answer[0].text


@pytest.mark.parametrize(
    ("history", "question"),
    [
        # a covered organ beside an uncovered condition: the story is about the condition
        (
            ["my dad has COPD and his lungs are getting worse"],
            "would stem cells in his lungs help?",
        ),
        # ... misspelled
        (
            ["my mum has alzhimers, her brain is shrinking"],
            "is there a brain stem cell trial for her?",
        ),
        # ... told in a later turn than the one that stands alone
        (["my son is 6", "he has autism"], "is it safe for him?"),
        # ... among other details of the story, each part of it read on its own
        (
            ["my uncle has parkinsons, stiff shoulders and a shuffling walk, on sinemet"],
            "is there a stem cell trial he could get into",
        ),
    ],
)
def test_a_story_naming_an_uncovered_condition_beside_covered_words_is_declined(
    answerer, seed_version, history: list[str], question: str
) -> None:  # type: ignore[no-untyped-def]
    assert answerer.ask(seed_version, question, history).status == "no_answer"


def test_a_follow_up_after_a_long_story_leans_on_its_own_words(answerer, seed_version) -> None:  # type: ignore[no-untyped-def]
    # the story is too long to weigh a word in (FocusSettings.max_probe_words): the
    # follow-up's own words are weighed against the follow-up
    history = [
        "my dad goes to the renal unit in Derby three times a week for dialysis and the nurses"
        " there are lovely but he is exhausted and cant walk far and we do all his shopping",
        "my sister wants to take him abroad for stem cells and spend all her savings on it and"
        " we keep arguing about it at sunday lunch",
    ]
    answer = answerer.ask(
        seed_version, "could stem cells fix his kidneys or is she kidding", history
    )
    assert answer.status == "no_answer" and answer.not_covered == ("kidneys",)
    # ... and a covered follow-up after a long story is still answered
    history = [
        "my brother hurt his spinal cord coming off his motorbike two years ago near Whitby, he"
        " is in a wheelchair now and has physio twice a week, and works from home for a charity",
        "his girlfriend found a stem cell trial online and they are thinking about signing him"
        " up next spring if the doctors agree",
    ]
    question = "did people in the spinal cord studies get serious side effects?"
    assert answerer.ask(seed_version, question, history).status == "answered"


@pytest.mark.parametrize(
    ("question", "before", "pointing_back"),
    [
        (
            "do other studies show similar results?",
            "One large study with 70 patients",
            "Similar results come from other research.",
        ),
        # the sentence pointed back to was also picked, as a later quote: it is quoted once
        (
            "what complications can unproven treatments lead to?",
            "Clinics sometimes offer unproven treatments",
            "These can lead to complications",
        ),
    ],
)
def test_a_sentence_that_points_back_is_quoted_with_the_sentence_before_it(
    answerer, seed_version, question: str, before: str, pointing_back: str
) -> None:  # type: ignore[no-untyped-def]
    answer = answerer.ask(seed_version, question)
    first = answer.answer[0]
    assert first.text.startswith(before) and pointing_back in first.text
    doc = seed_version.documents[first.source_id]
    assert doc.text[first.start : first.end] == first.text  # still verbatim, one span
    assert sum(before in s.text for s in answer.answer) == 1


def test_a_follow_up_that_takes_back_the_earlier_turn_is_not_declined_for_it(
    answerer,
    seed_version,  # type: ignore[no-untyped-def]
) -> None:
    history = ["how much does a stem cell clinic in cancun charge"]
    question = "forget that, what did the big spinal cord study find and how long was it?"
    answer = answerer.ask(seed_version, question, history)
    assert not answer.used_history and answer.status == "answered"
    assert any("70 patients" in quote.text for quote in answer.answer)
    # what the opening takes back is never named as uncovered
    answer = answerer.ask(seed_version, "never mind the cancun thing, are stem cells safe?")
    assert "cancun" not in " ".join(answer.not_covered).lower()


def test_a_follow_up_quotes_what_the_earlier_turn_was_about(answerer, seed_version) -> None:  # type: ignore[no-untyped-def]
    # "that trial" is the lung trial the earlier turn asked about, not the article's other
    # trials: a follow-up's own words are weighed with the turn they lean on
    history = ["is there a trial for pulmonary fibrosis?"]
    answer = answerer.ask(seed_version, "what did that trial find", history)
    assert answer.used_history and answer.status == "answered"
    assert "pulmonary fibrosis" in answer.answer[0].text


def test_a_follow_up_of_a_turn_answered_in_part_is_about_the_answered_part(
    answerer,
    seed_version,  # type: ignore[no-untyped-def]
) -> None:
    # the subject turn asks what the sources answer and a part they don't ("careful"); it is
    # answered, naming "careful", and the follow-up asks about what was answered
    history = [
        "what about stem cells for blood recovery after a transplant, are those studies careful?"
    ]
    first = answerer.ask(seed_version, history[0])
    assert first.status == "answered" and first.not_covered == ("careful",)
    answer = answerer.ask(seed_version, "do they leave out people with infections?", history)
    assert answer.used_history and answer.status == "answered"
    assert "active infections" in answer.answer[0].text


def test_thanks_after_an_answer_gets_no_quotes_and_leaves_the_conversation_as_it_was(
    answerer,
    seed_version,  # type: ignore[no-untyped-def]
) -> None:
    history = ["What did the studies of MSCs in spinal cord injuries find?"]
    for message in ("thanks so much that really helped x", "ok cheers"):
        answer = answerer.ask(seed_version, message, history)
        assert answer.status == "no_answer" and answer.answer == () and not answer.not_covered
    # the next question still leans on the earlier one, past the thanks
    answer = answerer.ask(seed_version, "how many patients were there?", [*history, "thanks!"])
    assert answer.status == "answered" and "70 patients" in answer.answer[0].text


def test_a_bare_and_x_follow_up_names_x(answerer, seed_version) -> None:  # type: ignore[no-untyped-def]
    history = ["Are stem cell treatments safe?"]
    dogs = answerer.ask(seed_version, "and dogs?", history)
    assert dogs.status == "no_answer" and dogs.not_covered == ("dogs",)
    tumours = answerer.ask(seed_version, "and tumours?", history)
    assert tumours.status == "answered" and "tumors" in tumours.answer[0].text


def test_turning_to_a_subject_names_it_when_no_source_covers_it(answerer, seed_version) -> None:  # type: ignore[no-untyped-def]
    # joined with the spinal cord question, the new subject weighed too little to count as
    # missing, and the spinal cord figures were quoted for it
    history = ["Are MSCs safe for spinal cord injuries?"]
    for question, missing in (
        ("what about multiple sclerosis?", "multiple sclerosis"),
        ("and what about for knee arthritis?", "knee arthritis"),
    ):
        uncovered = answerer.ask(seed_version, question, history)
        assert uncovered.status == "no_answer" and uncovered.not_covered == (missing,)
    # its other sentences are about that subject too: no partial answer from the earlier turn
    both = answerer.ask(seed_version, "what about multiple sclerosis? is it safe?", history)
    assert both.status == "no_answer" and "sclerosis" in " ".join(both.not_covered)
    covered = answerer.ask(seed_version, "what about lung disease?", history)
    assert covered.status == "answered" and "pulmonary fibrosis" in covered.answer[0].text
    # and back from an uncovered subject to a covered one
    for turn in ("what about spinal cord injuries?", "and for spinal cord injury?"):
        back = answerer.ask(seed_version, turn, ["Can stem cells cure autism?"])
        assert back.status == "answered" and "spinal cord" in back.answer[0].text


def test_a_follow_up_on_one_study_is_not_answered_from_another(answerer, seed_version) -> None:  # type: ignore[no-untyped-def]
    # the spinal cord studies' side effects and patient count were quoted for the
    # Huntington's and lung trials, of which the article gives neither
    for history, question in (
        (["Is there a stem cell trial for Huntington's disease?"], "what were the side effects?"),
        (["Has anyone tried stem cells for pulmonary fibrosis?"], "how many patients were in it?"),
    ):
        answer = answerer.ask(seed_version, question, history)
        assert not any(
            "spinal" in s.text or "26 studies" in s.text or "70 patients" in s.text
            for s in answer.answer
        ), (question, answer.answer)
    # and the study the conversation is about still answers
    spinal = answerer.ask(
        seed_version,
        "what were the side effects?",
        ["Have MSCs been tested in spinal cord injuries?"],
    )
    assert spinal.answer and "side effects were mostly mild" in spinal.answer[0].text


def test_a_new_side_of_an_uncovered_subject_is_no_new_subject(answerer, seed_version) -> None:  # type: ignore[no-untyped-def]
    # "and the side effects?" after a declined "what about for MS?" is about MS, not a turn to
    # "side effects": it was answered with the spinal cord studies'
    history = ["Are stem cell treatments safe?", "what about for multiple sclerosis?"]
    answer = answerer.ask(seed_version, "and the side effects?", history)
    assert answer.status == "no_answer"
    # a condition of its own is a new subject, "that" before it or not
    lungs = answerer.ask(seed_version, "and what about lung disease?", history)
    assert lungs.status == "answered" and "lung" in lungs.answer[0].text
    trial = answerer.ask(
        seed_version, "what about that lung trial?", ["Can stem cells cure autism?"]
    )
    assert trial.status == "answered" and "pulmonary fibrosis" in trial.answer[0].text
    # ... and so is a name no source uses, which is what is not covered
    clinic = answerer.ask(seed_version, "what about Stemedica?", history)
    assert clinic.status == "no_answer" and clinic.not_covered == ("Stemedica",)


@pytest.fixture(scope="module")
def eye_trial(embedder, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The seed article plus a page whose answer is a list after a lead-in."""
    page = (
        "Eye trial safety\n"
        "The eye trial team watched every patient for these side effects:\n"
        "Blurred vision\n"
        "Eye pain\n"
        "Swelling at the back of the eye\n"
        "The team met every month to look at the results.\n"
        "Who Could Take Part\n"
        "Adults with a damaged cornea could join the eye trial.\n"
        "How The Cells Were Given\n"
        "The animation below shows how the eye trial cells were injected.\n"
        "A surgeon injected the cells behind the cornea with a fine needle.\n"
        "Who Should Wait\n"
        "Eye doctors advise waiting for the eye trial results when\n"
        "- the eye is still infected - the cornea is healing by itself\n"
        "Dry eye, past eye surgery and diabetes slow the healing of the cornea. All of these "
        "conditions make the eye trial cells take longer to work."
    )
    return seed_and(embedder, tmp_path_factory, ("eye", page))


def test_a_sentence_that_leads_in_to_a_list_is_quoted_with_the_list(  # type: ignore[no-untyped-def]
    answerer, eye_trial
) -> None:
    answer = answerer.ask(eye_trial, "what side effects did the eye trial team watch for?")
    first = answer.answer[0]
    doc = eye_trial.documents[first.source_id]
    assert doc.text[first.start : first.end] == first.text  # one verbatim span
    assert first.text.startswith("The eye trial team watched every patient")
    # the items, not the sentence after them (full where they are bare) or the next section
    assert first.text.endswith("Swelling at the back of the eye")
    assert not any(s.text == "Eye pain" for s in answer.answer[1:])  # not quoted twice


def test_a_list_item_is_quoted_with_its_lead_in(answerer, eye_trial) -> None:  # type: ignore[no-untyped-def]
    # "Swelling at the back of the eye" alone does not say it was a side effect watched for
    item = answerer.ask(
        eye_trial, "did the eye trial team watch for swelling at the back of the eye?"
    )
    first = item.answer[0]
    assert eye_trial.documents[first.source_id].text[first.start : first.end] == first.text
    assert first.text.startswith("The eye trial team watched every patient")
    assert "Swelling at the back of the eye" in first.text
    # a lead-in left open before a list written with dashes, and the list quoted from it
    dashed = answerer.ask(eye_trial, "should I wait for the eye trial if my eye is still infected?")
    assert dashed.answer[0].text.startswith("Eye doctors advise waiting")
    assert dashed.answer[0].text.endswith("- the cornea is healing by itself")
    # "All of these conditions ..." is quoted with the sentence it points back to
    these = answerer.ask(eye_trial, "what makes the eye trial cells take longer to work?")
    assert these.answer[0].text.startswith("Dry eye, past eye surgery and diabetes")


def test_a_count_of_something_else_does_not_answer(answerer, seed_version) -> None:  # type: ignore[no-untyped-def]
    # the article counts studies and patients, never cells: "26 studies" was quoted
    cells = answerer.ask(
        seed_version, "how many stem cells do they inject into spinal cord patients?"
    )
    assert cells.status == "no_answer"
    trials = answerer.ask(seed_version, "how many trials were there for spinal cord injury?")
    assert trials.answer and "26 studies" in trials.answer[0].text


def test_a_sentence_that_shows_a_picture_the_page_leaves_out_is_not_quoted(  # type: ignore[no-untyped-def]
    answerer, eye_trial
) -> None:
    answer = answerer.ask(eye_trial, "how were the cells injected in the eye trial?")
    assert answer.answer and not any("animation below" in s.text for s in answer.answer)
    assert "fine needle" in answer.answer[0].text


def test_a_health_body_named_by_its_letters_is_what_is_missing(answerer, seed_version) -> None:  # type: ignore[no-untyped-def]
    # the model barely reads "FDA": "Many approved treatments in clinical trials ..." answered
    for question in ("are stem cell clinics FDA approved?", "is it approved by the fda?"):
        answer = answerer.ask(seed_version, question)
        assert answer.status == "no_answer", question
        assert [w.lower() for w in answer.not_covered] == ["fda"], question


def test_two_words_written_as_one_are_read_as_the_sources_write_them(  # type: ignore[no-untyped-def]
    answerer, seed_version
) -> None:
    # "stemcell" was a word no source uses: "spinal cord injery stemcell side affects" was
    # declined naming "injery stemcell"
    answer = answerer.ask(seed_version, "spinal cord injery stemcell side affects")
    assert answer.status == "answered" and not answer.not_covered
    assert any("side effects were mostly mild" in s.text for s in answer.answer)
