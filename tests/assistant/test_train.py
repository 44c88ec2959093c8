"""The scorer file: trained by `stemcell-qa train-scorer`, reproducible, loadable."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.cli import main
from assistant.scorer import Scorer, ScorerError


def _train(index: Path, questions: Path, out: Path, *flags: str) -> dict[str, object]:
    pair = ["--pair", str(index), str(questions)]
    assert main(["train-scorer", *pair, "--out", str(out), "--folds", "3", *flags]) == 0
    return json.loads(out.read_text("utf-8"))


def test_training_is_reproducible_and_the_file_loads(
    seed_index: Path, shared: Path, tmp_path: Path
) -> None:
    # a small subset (the seed dev set, no rewrites) keeps this fast; the slow test below
    # remakes the packaged file itself
    questions = shared / "eval" / "seed-dev.jsonl"
    first = _train(seed_index, questions, tmp_path / "a.json", "--no-rewrites")
    second = _train(seed_index, questions, tmp_path / "b.json", "--no-rewrites")
    assert first == second  # fixed seeds: same questions, same file
    scorer = Scorer.load(tmp_path / "a.json")
    assert 0 < scorer.answer_threshold < 1
    assert scorer.meta["trained_on"] == ["seed-dev.jsonl"] and scorer.meta["questions"] == 21
    # the fallback for embedders of another size is fitted, not cut out of the full model
    named = scorer.passage_named
    assert named is not None and len(named.weights) == len(named.names) == len(scorer.passage.names)
    assert not np.allclose(named.weights, scorer.passage.weights[: len(named.names)])
    assert scorer.named_only().passage is named


def test_the_packaged_scorer_loads_with_its_fitted_decision_points() -> None:
    scorer = Scorer.load()
    assert scorer.dim == 384  # fitted on the bundled MiniLM's vectors
    assert len(scorer.question.weights) == len(scorer.question.names)
    assert 0 < scorer.answer_threshold < 1 and 0 < scorer.focus_threshold < 1
    assert "medquad-topical-dev.jsonl" in scorer.meta["trained_on"]


def test_a_scorer_file_for_other_features_is_refused(tmp_path: Path) -> None:
    broken = json.loads(Scorer.load().to_json())
    broken["passage"]["weights"] = broken["passage"]["weights"][:-1]
    (tmp_path / "bad.json").write_text(json.dumps(broken), "utf-8")
    with pytest.raises(ScorerError, match="differ in length"):
        Scorer.load(tmp_path / "bad.json")


@pytest.mark.slow
@pytest.mark.timeout(3600)  # builds the 11,625-chunk topical index, then trains: ~10 min here
def test_the_packaged_scorer_is_what_the_documented_command_makes(
    seed_index: Path,
    shared: Path,
    tmp_path: Path,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    from corpus.local import load_local
    from index.build import build

    topical = tmp_path / "mq"
    build(load_local([shared / "corpus" / "medquad" / "topical.jsonl"], print), topical, embedder)
    pairs = [
        ("--pair", str(topical), str(shared / "eval" / "medquad-topical-dev.jsonl")),
        ("--pair", str(seed_index), str(shared / "eval" / "seed-dev.jsonl")),
        ("--pair", str(seed_index), str(shared / "eval" / "seed-indomain-dev.jsonl")),
    ]
    out = tmp_path / "scorer.json"
    assert main(["train-scorer", *[a for p in pairs for a in p], "--out", str(out)]) == 0
    made, shipped = Scorer.load(out), Scorer.load()
    for name in ("passage", "sentence", "question"):
        assert np.allclose(getattr(made, name).weights, getattr(shipped, name).weights, atol=1e-3)
    assert abs(made.answer_threshold - shipped.answer_threshold) < 1e-3
    assert abs(made.focus_threshold - shipped.focus_threshold) < 1e-3
