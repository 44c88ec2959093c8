"""Source vocabulary: spelling and inflection variants, nearest words."""

from __future__ import annotations

import numpy as np

from corpus.document import Document
from index.vocab import Vocabulary, acronym, clinical, plain_degree, source_words, words


def vocabulary(*texts: str) -> Vocabulary:
    counts = source_words([Document(f"d{i}", t, "") for i, t in enumerate(texts)]).most_common()
    vectors = np.eye(len(counts), 8, dtype=np.float32)
    return Vocabulary(tuple(w for w, _ in counts), np.array([c for _, c in counts]), vectors)


def test_british_spellings_find_the_sources_us_forms() -> None:
    vocab = vocabulary(
        "Tumors and anemia in pediatric hematology; esophagus and edema. Celiac disease, "
        "diarrhea and sleep apnea; the fetus."
    )
    assert vocab.variant("tumours") == "tumors"
    assert vocab.variant("anaemia") == "anemia"
    assert vocab.variant("paediatric") == "pediatric"
    assert vocab.variant("haematology") == "hematology"
    assert vocab.variant("oesophagus") == "esophagus"
    assert vocab.variant("oedema") == "edema"
    assert vocab.variant("coeliac") == "celiac"
    assert vocab.variant("diarrhoea") == "diarrhea"
    assert vocab.variant("apnoea") == "apnea"
    assert vocab.variant("foetus") == "fetus"


def test_plural_and_possessive_forms_match() -> None:
    vocab = vocabulary("MSCs were tested. Huntington disease.")
    assert vocab.variant("msc") == "mscs"
    assert vocab.variant("huntington's") == "huntington"


def test_an_adjective_in_y_matches_the_sources_noun() -> None:
    vocab = vocabulary("Clinics can carry real risks. Eat a balanced diet for health. A bell.")
    assert vocab.variant("risky") == "risks"
    assert vocab.variant("healthy") == "health"
    assert vocab.variant("scary") is None  # no "scar" in the sources
    assert vocab.variant("belly") is None  # words in -ly are left alone


def test_chat_shorthand_reads_as_the_word_the_sources_use() -> None:
    vocab = vocabulary("Side effects in people followed for five years.")
    assert vocab.variant("ppl") == "people"
    assert vocab.variant("yrs") == "years"
    assert vocab.variant("meds") is None  # the sources never say "medications": left as typed
    assert vocab.variant("docs") is None  # doctors or documents: not read either way


def reading(message: str, shorthand: str) -> str | None:
    at = message.index(shorthand)
    return clinical(message, at, at + len(shorthand))


def test_clinical_shorthand_reads_as_what_it_stands_for() -> None:
    assert reading("what are the sx of a PE", "sx") == "symptoms"
    assert reading("my bx came back showing DCIS", "bx") == "biopsy"
    assert reading("strong FHx of bowel cancer", "FHx") == "family history"
    assert reading("she was dx’d with lupus", "dx’d") == "diagnosed"
    # "dx" and "tx" as verbs where one is wanted, as nouns elsewhere
    assert reading("my husband was dx with parkinsons", "dx") == "diagnosed"
    assert reading("dx at 30 and still going", "dx") == "diagnosed"
    assert reading("how accurate is the dx?", "dx") == "diagnosis"
    assert reading("is there any tx for it?", "tx") == "treatment"
    assert reading("he got tx with radiation", "tx") == "treated"
    assert reading("dad was diagnosed w afib", "afib") == "atrial fibrillation"
    assert reading("she starts chemo monday", "chemo") == "chemotherapy"
    assert reading("moving to TX next year", "TX") is None  # two capitals: Texas as often
    assert reading("the text says", "text") is None


def test_tried_reads_as_the_sources_trial_only_where_they_lack_it() -> None:
    vocab = vocabulary("A trial infusing cells into lungs called it safe.")
    assert vocab.variant("tried") == "trial"
    assert vocab.variant("trying") is None  # "we are trying for a baby": no test
    assert vocabulary("Other drugs were tried first. A trial.").variant("tried") == "tried"
    assert vocabulary("Cells were tested.").variant("tried") is None


def test_typos_are_corrected_but_real_words_are_not() -> None:
    vocab = vocabulary("She was diagnosed with leukemia, hepatitis. Bolder claims. Symptoms vary.")
    assert vocab.variant("dianosed") == "diagnosed"  # not an English word: a typo
    assert vocab.variant("leukemea") == "leukemia"
    assert vocab.variant("symtoms") == "symptoms"
    assert vocab.variant("balder") is None  # a real word one letter from "bolder" stays itself
    assert vocab.variant("keratitis") is None  # a rare term, not a typo of "hepatitis"
    assert vocab.variant("autism") is None


def test_a_degree_finds_the_plain_forms_english_uses_more() -> None:
    assert "safe" in plain_degree("safest") and "safe" in plain_degree("safer")
    assert "big" in plain_degree("biggest")
    assert "risks" in plain_degree("riskier")  # risky, and the noun it is made from
    assert plain_degree("number") == []  # "numb" is rarer: no degree of it
    assert "fore" not in plain_degree("forest")
    assert plain_degree("test") == []


def test_two_letters_swapped_are_one_slip() -> None:
    vocab = vocabulary("Stem cells from embryos. The pneumonia came back.")
    assert vocab.variant("embyros") == "embryos"  # seven letters: one edit allowed
    assert vocab.variant("pnuemonia") == "pneumonia"
    assert vocab.variant("emrbyso") is None  # two swaps are two slips


def test_rare_spellings_next_to_a_far_commoner_source_word_are_typos() -> None:
    vocab = vocabulary("It is common in men. It actually runs in families. All is well.")
    assert vocab.variant("comon") == "common"  # English has it (a typo), 1,000x rarer
    assert vocab.variant("actualy") == "actually"
    assert vocab.variant("weill") == "well"  # written in lower case: read as a slip
    assert vocab.variant("weill", name=True) is None  # "Weill": a name, left as written
    rare = vocabulary("The rotated cuff and the breastfed baby.")
    assert rare.variant("breastfeed") is None  # about as common as its neighbour: a word
    assert rare.variant("rotator") is None  # two edits away


def test_a_dropped_letter_in_a_four_letter_word_is_a_typo() -> None:
    vocab = vocabulary("Stem cells and a tumor of the heart. The LUH unit and the VDR gene.")
    assert vocab.variant("cels") == "cells"
    assert vocab.variant("tumr") == "tumor"
    assert vocab.variant("hert") == "heart"
    assert vocab.variant("luhf") is None  # a letter too many is not a slip: "luhf" != "luh"
    assert vocab.variant("vdrl") is None  # one letter over "vdr", not short of a word
    assert vocab.variant("cels", name=True) is None  # "CELS" or "Cels": an acronym or name


def test_nearest_returns_the_closest_source_word() -> None:
    vocab = vocabulary("alpha beta gamma")
    query = np.zeros((1, 8), dtype=np.float32)
    query[0, vocab.index["beta"]] = 1.0
    similarity, nearest = vocab.nearest(query)
    assert nearest == ["beta"] and similarity[0] == 1.0


def test_words_keep_inner_apostrophes_and_fold_curly_ones() -> None:
    assert words("Huntington’s disease, MSCs!") == ["huntington's", "disease", "mscs"]


def test_two_letter_capitals_are_acronyms_unless_stop_words_or_greetings() -> None:
    assert acronym("MS") and acronym("UK") and acronym("CP")
    assert not acronym("ms") and not acronym("Ms")  # a title, or a word in lower case
    assert not acronym("IS") and not acronym("MY")  # stop words in a message typed in capitals
    assert not acronym("OK") and not acronym("HI")
    assert not acronym("ALS")  # three letters and more are weighed as any word


def test_two_words_the_sources_use_written_as_one_are_split() -> None:
    # "are stemcells safe" named "stemcells" as a word no source uses, and was declined
    v = vocabulary("Stem cells were tested. Side effects were mild. The therapy was safe.")
    assert v.compound("stemcells") == "stem cells"
    assert v.compound("sideeffects") == "side effects"
    assert v.compound("therapist") is None  # a word English knows is no pair ("the rapist")
    assert v.compound("stemxyz") is None  # each part a word
