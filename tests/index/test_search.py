"""Dense + lexical retrieval with the real model on small real text."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from corpus.extract import Meta, extract_plain
from index import store
from index.build import build
from index.search import retrieve
from tests.conftest import seed_documents

# The rare identifier sits in an off-topic newsletter; the other documents match the topic.
TRIALS = {
    "newsletter": "This month the hospital car park reopens and the cafe has a new menu. "
    "Staff holidays are listed on the notice board. Registry number NCT07297576 is filed.",
    "trial-b": "A clinical trial will test neural stem cells in Parkinson's disease.",
    "trial-c": "A clinical trial will test mesenchymal stem cells in spinal cord injury.",
    "trial-d": "A clinical trial will test blood stem cells after a transplant.",
}


def test_bm25_finds_an_exact_rare_term_that_dense_search_ranks_low(
    tmp_path: Path,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    docs = seed_documents() + [
        extract_plain(text.encode(), Meta(source_id=key)) for key, text in TRIALS.items()
    ]
    build(docs, tmp_path, embedder)
    version = store.load(tmp_path, embedder.model_id, embedder.dim)
    query = "clinical trial NCT07297576"
    vector = embedder.encode([query])[0]

    def ranked(mode: str) -> list[str]:
        return [
            version.chunks[h.chunk].source_id for h in retrieve(version, vector, query, mode=mode)
        ]

    assert ranked("bm25")[0] == "newsletter"
    assert ranked("dense").index("newsletter") >= 3  # the digits mean little to the embedding
    assert "newsletter" in ranked("fused")  # lexical candidates join the fused ranking


def test_term_membership_matches_the_chunk_texts(seed_version) -> None:  # type: ignore[no-untyped-def]
    from index.build import passage_text
    from index.lexical import tokenize

    lexical = seed_version.lexical
    chunk_ids = np.arange(len(seed_version.chunks))
    for term in ("tumor", "huntington", "cell", "gmp"):
        term_id = lexical.vocabulary[term]
        expected = [
            term in tokenize(passage_text(seed_version.documents[c.source_id], c))
            for c in seed_version.chunks
        ]
        assert lexical.contains(term_id, chunk_ids).tolist() == expected
