"""The build's encoder and its cache (fake embedder: plumbing only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index.cache import EmbeddingCache
from index.encoding import Encoder
from tests.conftest import FakeEmbedder

WINDOW = 30  # characters the fake model "sees" of a text


class ShortWindow(FakeEmbedder):
    """Gives no vector to a span past its window, as MiniLM does past 256 tokens."""

    def encode_spans(self, texts, spans, batch_size=32):  # type: ignore[no-untyped-def]
        vectors, pooled = super().encode_spans(texts, spans, batch_size)
        for row, text_spans in zip(pooled, spans, strict=True):
            for i, (start, _) in enumerate(text_spans):
                if start >= WINDOW:
                    row[i] = None
        return vectors, pooled


def test_a_span_past_the_window_is_cached_as_such_and_its_text_not_encoded_again(
    tmp_path: Path,
) -> None:
    text = "Stem cells were safe in mice. Later, a long follow-up found no tumours."
    spans = [[(0, 29), (30, len(text))]]  # the second starts past the window
    model = ShortWindow()
    cache = EmbeddingCache(tmp_path / "cache.sqlite", model.dim)
    first, pooled = Encoder(model, cache).late([text], spans, "chunks")
    assert pooled[0][0] is not None and pooled[0][1] is None
    again = Encoder(model, cache)
    second, pooled_again = again.late([text], spans, "chunks")
    assert again.embedded["chunks"] == 0 and len(model.encoded) == 1  # nothing encoded twice
    assert pooled_again[0][1] is None and np.allclose(pooled_again[0][0], pooled[0][0])
    assert np.allclose(first, second)
    cache.close()


def test_progress_starts_before_the_work_and_steps_with_it(tmp_path: Path) -> None:
    # the bar was made when the first block was done: at 100% at once, "3,533,783 item/s"
    model = FakeEmbedder()
    seen: list[tuple[str, int, int, int]] = []

    def progress(stage: str, done: int, total: int) -> None:
        seen.append((stage, done, total, len(model.encoded)))

    cache = EmbeddingCache(tmp_path / "cache.sqlite", model.dim)
    texts = [f"Sentence number {i} about stem cells." for i in range(5)]
    Encoder(model, cache, block=2, progress=progress).texts(texts, "chunks")
    assert seen[0] == ("chunks", 0, 5, 0)  # nothing encoded yet
    assert [done for _, done, _, _ in seen] == [0, 2, 4, 5]
