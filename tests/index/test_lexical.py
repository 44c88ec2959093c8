"""Query-side tokenising (index/lexical.py) against the library that tokenised the index."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import bm25s

from index.lexical import STOPWORDS, _stemmer, tokenize, tokenize_many

ODD = [
    "",
    "   ",
    "a I x",  # one-letter words are no tokens
    "Huntington’s disease and Parkinson's",
    "COVID-19, B12 & vitamin_D; 2026 trials!",
    "naïve café résumé Ærø ΑΒΓ δέλτα",
    "follow-up, long-term, self-employed",
    "THE AND WHICH could would many",  # stop words in capitals
    "tumours tumors tumour running runs ran",
]


def reference(texts: list[str]) -> list[list[str]]:
    """What bm25s makes of the texts, as the index was built."""
    rows = bm25s.tokenize(
        texts, stopwords=STOPWORDS, stemmer=_stemmer(), show_progress=False, return_ids=False
    )
    return [[t for t in row if t] for row in rows]


def test_tokens_are_bm25s_tokens_on_real_text(shared: Path) -> None:
    seed = (shared / "corpus" / "are-stem-cell-products-safe.txt").read_text("utf-8")
    medquad = shared / "corpus" / "medquad" / "topical.jsonl"
    with medquad.open(encoding="utf-8") as lines:
        pages = [json.loads(line)["text"] for line in itertools.islice(lines, 300)]
    texts = [*seed.splitlines(), *pages, *ODD]
    assert tokenize_many(texts) == reference(texts)
    assert (
        tokenize("Can stem cells cause tumours?") == reference(["Can stem cells cause tumours?"])[0]
    )


def test_nothing_to_tokenise() -> None:
    assert tokenize_many([]) == []
    assert tokenize("the and of") == []
