"""Short forms the sources define, and questions read with them."""

from __future__ import annotations

import logging
import subprocess
import sys

from index.shortforms import Expander, extract

PAGES = [
    "Chronic lymphocytic leukemia (CLL) is a cancer of the blood. CLL gets worse slowly.",
    "Key points. Chronic lymphocytic leukemia (CLL) is common in older adults. Acute "
    "lymphoblastic leukemia (ALL) is a cancer of the bone marrow. Some sores (ulcers) heal.",
    "Immune thrombocytopenia (ITP) is a bleeding disorder. Multiple sclerosis (MS) is not.",
]


def test_the_pairs_the_sources_define_are_found() -> None:
    found = extract(PAGES)
    assert found["CLL"] == "chronic lymphocytic leukemia"
    assert found["ALL"] == "acute lymphoblastic leukemia"
    assert found["ITP"] == "immune thrombocytopenia"
    assert found["MS"] == "multiple sclerosis"
    # a word in brackets after another is no short form: it needs two capitals
    assert "ulcers" not in found and "sores" not in found


def test_the_definition_given_most_often_wins() -> None:
    pages = [
        "Acute myeloid leukemia (AML) is a cancer.",
        "Acute myeloid leukemia (AML) starts in the marrow.",
        "Acute myelogenous leukemia (AML) is another name.",
    ]
    assert extract(pages) == {"AML": "acute myeloid leukemia"}


def test_a_short_form_is_read_with_its_definition() -> None:
    expand = Expander(extract(PAGES))
    assert expand("is CLL inherited?") == "is CLL (chronic lymphocytic leukemia) inherited?"
    assert expand("my son has ITP.") == "my son has ITP (immune thrombocytopenia)."
    # written in lower case, as patients do, when English has no such word
    assert expand("is cll inherited") == "is cll (chronic lymphocytic leukemia) inherited"
    # each time it is used; not inside a longer word ("ITP-related")
    assert (
        expand("is ITP-related bruising catching? his ITP is back")
        == "is ITP-related bruising catching? his ITP (immune thrombocytopenia) is back"
    )


def test_words_that_only_look_like_short_forms_are_left_alone() -> None:
    expand = Expander(extract(PAGES))
    # "all" is an English word, and two letters are too few to tell in lower case
    assert expand("is all of it safe? ms smith asked") == "is all of it safe? ms smith asked"
    # a message typed in capitals has no short forms to tell apart
    assert expand("IS ALL OF THIS SAFE FOR MY DAD") == "IS ALL OF THIS SAFE FOR MY DAD"
    # already said in full; part of a longer word
    text = "chronic lymphocytic leukemia (CLL): is CLL inherited? and CLLX?"
    assert expand(text) == text
    assert expand("is CLLX or XCLL inherited?") == "is CLLX or XCLL inherited?"
    assert Expander({})("is CLL inherited?") == "is CLL inherited?"


def test_importing_the_extractor_leaves_logging_alone() -> None:
    # the abbreviations package calls logging.basicConfig(level=INFO) when imported: every
    # command then printed FAISS's start-up lines, and `serve` lost its log format
    probe = (
        "import logging, index.shortforms; root = logging.getLogger(); "
        "print(len(root.handlers), root.level)"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert shown.stdout.split() == ["0", str(logging.WARNING)]
