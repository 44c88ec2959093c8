"""The ONNX query encoder: exported once, equal to torch's vectors, refused when damaged."""

from __future__ import annotations

import logging
import stat
import threading
from pathlib import Path

import numpy as np
import pytest

from assistant import cli
from assistant.settings import Settings
from index.batching import BatchingEmbedder, BatchSettings
from index.embed import ModelLoadError
from index.onnx import (
    MIN_COSINE,
    OnnxEmbedder,
    build_embedder,
    encoder_path,
    export,
    for_builds,
    onnx_embedder,
    plan_batches,
)
from tests.conftest import seed_documents


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:  # type: ignore[no-untyped-def]
    """An index folder holding the export (made once: ~90 MB, a few seconds)."""
    index_dir = tmp_path_factory.mktemp("onnx-index")
    path = export(index_dir, embedder)
    assert path == encoder_path(index_dir) and path.exists()
    assert encoder_path(index_dir, "int8").exists()  # and its int8 copy, beside it
    return index_dir


def test_onnx_vectors_equal_torch_vectors_on_the_seed_article(
    exported: Path,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    onnx = OnnxEmbedder(encoder_path(exported))
    paragraphs = [p for p in seed_documents()[0].text.split("\n") if p.strip()]
    texts = [*paragraphs, "can stem cells cause tumours", "x", " ".join(paragraphs)]  # long: cut
    difference = np.abs(onnx.encode(texts) - embedder.encode(texts))
    assert difference.max() < 1e-5
    norms = np.linalg.norm(onnx.encode(texts[:3]), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5)


def test_the_int8_copy_is_smaller_and_close_to_torch_on_the_seed_article(
    exported: Path,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    int8 = OnnxEmbedder(encoder_path(exported, "int8"))
    paragraphs = [p for p in seed_documents()[0].text.split("\n") if p.strip()]
    texts = [*paragraphs, "can stem cells cause tumours", "is stem cell therapy safe for my dad"]
    cosines = (int8.encode(texts) * embedder.encode(texts)).sum(axis=1)
    assert cosines.min() >= MIN_COSINE
    assert not np.allclose(cosines, 1.0, atol=1e-6)  # quantised: near, not equal
    sizes = [encoder_path(exported, kind).stat().st_size for kind in ("int8", "fp32")]
    assert sizes[0] < sizes[1] / 2


def test_single_words_get_a_call_of_their_own_and_question_long_texts_share_one() -> None:
    words, questions = [3] * 5, [12] * 6  # token lengths, sorted as `encode` sorts them
    assert plan_batches(words + questions, 8) == [(0, 5), (5, 11)]
    assert plan_batches([10] * 8, 8) == [(0, 8)]  # alike: one call
    ranges = plan_batches([3, 4, 9, 10, 11, 30, 31, 32] * 3, 8)
    assert all(0 < end - start <= 8 for start, end in ranges)
    assert [r[0] for r in ranges[1:]] == [r[1] for r in ranges[:-1]]  # every text once
    assert (ranges[0][0], ranges[-1][1]) == (0, 24)
    assert plan_batches([], 8) == []


def test_a_repeated_text_gets_its_vector_at_each_place(exported: Path) -> None:
    int8 = OnnxEmbedder(encoder_path(exported, "int8"), quantized=True)
    texts = ["can stem cells cause tumours", "tumours", "can stem cells cause tumours"]
    done: list[int] = []
    vectors = int8.encode(texts, progress=done.append)
    assert np.array_equal(vectors[0], vectors[2])
    assert np.array_equal(vectors[:2], int8.encode(texts[:2]))  # encoded once, as without it
    assert sum(done) == len(texts)


def test_under_load_a_question_gets_the_int8_vectors_it_gets_alone(exported: Path) -> None:
    int8 = onnx_embedder(exported, "int8")
    assert isinstance(int8, OnnxEmbedder) and int8.quantized
    question = "can stem cells cause tumours"
    others = ["x", "is stem cell therapy safe for my dad, he is 74 and has knee pain", "GMP?"]
    alone = int8.encode([question])[0]
    assert not np.array_equal(alone, int8.encode([*others, question])[-1])  # batch-dependent
    served = BatchingEmbedder(int8, BatchSettings(lanes=1))
    texts = [[question], others[:1], others[1:]] * 4
    results: list[np.ndarray] = [np.zeros(0)] * len(texts)

    def ask(i: int) -> None:
        results[i] = served.encode(texts[i])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    served.close()
    for i, batch in enumerate(texts):
        assert np.array_equal(results[i], int8.encode(batch))  # as if it were the only one


def test_late_chunking_through_the_export_equals_torch_on_the_seed_article(
    exported: Path,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    onnx = OnnxEmbedder(encoder_path(exported))
    paragraphs = [p for p in seed_documents()[0].text.split("\n") if len(p) > 80]
    spans = [[(0, p.index(". ") + 1), (p.index(". ") + 2, len(p))] for p in paragraphs]
    long = " ".join(paragraphs * 3)  # cut at 256 tokens: its last span is never seen
    texts, spans = [*paragraphs, long], [*spans, [(0, 40), (len(long) - 20, len(long))]]
    vectors, pooled = onnx.encode_spans(texts, spans)
    expected, expected_pooled = embedder.encode_spans(texts, spans)
    assert np.abs(vectors - expected).max() < 1e-5
    for got, want in zip(pooled, expected_pooled, strict=True):
        assert [g is None for g in got] == [w is None for w in want]
        for g, w in zip(got, want, strict=True):
            if w is not None:
                assert np.abs(g - w).max() < 1e-5
    assert pooled[-1][1] is None and pooled[-1][0] is not None


def test_builds_embed_with_the_export_and_never_with_the_int8_copy(
    exported: Path,
    tmp_path: Path,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    loads: list[int] = []

    def torch_model():  # type: ignore[no-untyped-def]
        loads.append(1)
        return embedder

    int8 = OnnxEmbedder(encoder_path(exported, "int8"), torch_model=torch_model, quantized=True)
    exact = OnnxEmbedder(encoder_path(exported), torch_model=torch_model)
    assert for_builds(exact) is exact  # the export's vectors are the model's own
    builder = for_builds(int8)
    words = ["tumours", "autism", "mesenchymal"]
    assert np.abs(builder.encode(words) - embedder.encode(words)).max() < 1e-5
    assert not np.allclose(builder.encode(words), int8.encode(words), atol=1e-4)
    assert loads == []  # the export beside the int8 copy embeds: torch never loads
    assert for_builds(embedder) is embedder
    # an index without an export (its first build): the torch model, when first needed
    first = build_embedder(tmp_path, torch_model)
    assert loads == []
    assert np.array_equal(first.encode(words), embedder.encode(words))
    assert loads == [1]


def test_a_damaged_export_leaves_builds_to_the_torch_model(
    exported: Path,
    tmp_path: Path,
    embedder,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    damaged = encoder_path(tmp_path)
    damaged.parent.mkdir(parents=True)
    data = bytearray(encoder_path(exported).read_bytes())
    data[len(data) // 3] ^= 0xFF
    damaged.write_bytes(bytes(data))
    damaged.with_suffix(".json").write_bytes(
        encoder_path(exported).with_suffix(".json").read_bytes()
    )
    loads: list[int] = []

    def torch_model():  # type: ignore[no-untyped-def]
        loads.append(1)
        return embedder

    builder = build_embedder(tmp_path, torch_model)
    with caplog.at_level(logging.WARNING, logger="stemcell_qa.onnx"):
        vectors = builder.encode(["tumours"])
    assert loads == [1] and "checksum" in caplog.text
    assert np.array_equal(vectors, embedder.encode(["tumours"]))


def test_export_is_written_once_and_readable_by_others(exported: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    path = encoder_path(exported)
    before = path.stat().st_mtime_ns
    assert export(exported, embedder) == path
    assert path.stat().st_mtime_ns == before
    assert path.stat().st_mode & stat.S_IROTH
    assert not list(path.parent.glob(".export-*"))  # no staging file left behind


def test_a_damaged_export_is_refused_and_auto_falls_back(
    exported: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    damaged = encoder_path(tmp_path)
    damaged.parent.mkdir(parents=True)
    data = bytearray(encoder_path(exported).read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte among the weights
    damaged.write_bytes(bytes(data))
    damaged.with_suffix(".json").write_bytes(
        encoder_path(exported).with_suffix(".json").read_bytes()
    )
    with pytest.raises(ModelLoadError, match="checksum"):
        OnnxEmbedder(damaged)
    with caplog.at_level(logging.WARNING, logger="stemcell_qa.onnx"):
        assert onnx_embedder(tmp_path, "auto") is None
    assert "checksum" in caplog.text
    with pytest.raises(ModelLoadError):
        onnx_embedder(tmp_path, "onnx")


def test_a_truncated_export_is_refused(exported: Path, tmp_path: Path) -> None:
    cut = encoder_path(tmp_path)
    cut.parent.mkdir(parents=True)
    cut.write_bytes(encoder_path(exported).read_bytes()[:4096])
    with pytest.raises(ModelLoadError, match="cannot load"):
        OnnxEmbedder(cut, verify=False)
    assert onnx_embedder(tmp_path, "auto") is None  # no sidecar, no model: torch answers


def test_choice_of_encoder(exported: Path, tmp_path: Path) -> None:
    chosen = {choice: onnx_embedder(exported, choice) for choice in ("auto", "int8", "onnx")}
    assert {c: e.path.name for c, e in chosen.items() if isinstance(e, OnnxEmbedder)} == {
        "auto": encoder_path(exported, "int8").name,
        "int8": encoder_path(exported, "int8").name,
        "onnx": encoder_path(exported).name,
    }
    assert onnx_embedder(exported, "torch") is None
    assert onnx_embedder(tmp_path, "auto") is None  # nothing exported there
    for choice in ("onnx", "int8"):
        with pytest.raises(ModelLoadError, match="no ONNX query encoder"):
            onnx_embedder(tmp_path, choice)


def test_auto_serves_with_the_export_when_the_int8_copy_is_damaged(
    exported: Path, tmp_path: Path
) -> None:
    for kind in ("fp32", "int8"):
        copy = encoder_path(tmp_path, kind)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(encoder_path(exported, kind).read_bytes())
        copy.with_suffix(".json").write_bytes(
            encoder_path(exported, kind).with_suffix(".json").read_bytes()
        )
    damaged = encoder_path(tmp_path, "int8")
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    chosen = onnx_embedder(tmp_path, "auto")
    assert isinstance(chosen, OnnxEmbedder) and chosen.path == encoder_path(tmp_path)
    with pytest.raises(ModelLoadError, match="checksum"):
        onnx_embedder(tmp_path, "int8")


def test_cli_answers_with_the_export_and_its_token_vectors_serve_builds(
    exported: Path,
    embedder,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli, "_embedder", lambda: embedder)
    chosen = cli._query_embedder(Settings(index_dir=exported))
    assert isinstance(chosen, OnnxEmbedder)
    loads: list[int] = []

    def torch_model():  # type: ignore[no-untyped-def]
        loads.append(1)
        return embedder

    onnx = OnnxEmbedder(encoder_path(exported), torch_model=torch_model)
    text = "Stem cells can form tumors. Patients should ask about risks."
    spans = [[(0, 27), (28, len(text))]]
    vectors, pooled = onnx.encode_spans([text], spans)
    assert loads == []  # late chunking needs no torch model
    expected, expected_pooled = embedder.encode_spans([text], spans)
    assert np.allclose(vectors, expected, atol=1e-5)
    assert np.allclose(pooled[0][1], expected_pooled[0][1], atol=1e-5)


def test_what_the_quantizer_and_bm25s_say_stays_out_of_the_log() -> None:
    # 36 "Quantization parameters for tensor ..." lines, and bm25s's DEBUG lines after every
    # rebuild, in a server's log
    import logging

    import index.lexical  # noqa: F401  (sets bm25s's level)
    from index.onnx import _DropAdvice

    def record(level: int, text: str) -> logging.LogRecord:
        return logging.LogRecord("root", level, __file__, 1, text, None, None)

    quiet = _DropAdvice()
    assert not quiet.filter(record(logging.INFO, 'Quantization parameters for tensor:"x"'))
    assert not quiet.filter(
        record(logging.WARNING, "Please consider pre-processing before quantization")
    )
    assert quiet.filter(record(logging.WARNING, "a real problem"))
    assert not logging.getLogger("bm25s").isEnabledFor(logging.INFO)
