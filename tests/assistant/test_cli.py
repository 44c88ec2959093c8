"""The console script, in-process, sharing the session's model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import cli
from assistant.settings import Settings
from tests.conftest import SEED_PARTS


@pytest.fixture(autouse=True)
def shared_model(monkeypatch: pytest.MonkeyPatch, embedder) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(cli, "_embedder", lambda: embedder)


def test_missing_index_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(["ask", "Is it safe?", "--index", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "stemcell-qa build" in err and "Traceback" not in err


def test_a_missing_query_encoder_asked_for_by_name_is_one_line_and_exit_2(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch, seed_index: Path
) -> None:
    import shutil

    index = tmp_path / "index"
    shutil.copytree(seed_index, index, ignore=shutil.ignore_patterns("encoders"))
    monkeypatch.setenv("STEMCELL_QA_QUERY_ENCODER", "int8")
    assert cli.main(["ask", "Is it safe?", "--index", str(index)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no ONNX query encoder" in err and "Traceback" not in err


def test_malformed_jsonl_is_reported_with_file_and_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "ok"}\nnot json\n')
    code = cli.main(["build", "--no-sources", "--docs", str(bad), "--index", str(tmp_path / "i")])
    err = capsys.readouterr().err
    assert code == 2 and "bad.jsonl:2" in err and "at column 1)" in err
    assert not (tmp_path / "i" / "CURRENT").exists()


def test_refresh_that_cannot_fetch_a_source_still_builds_and_exits_1(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys, shared: Path
) -> None:
    manifest = tmp_path / "sources.toml"  # nothing listens on port 9 of loopback
    manifest.write_text('[[source]]\nid = "gone"\nurl = "http://127.0.0.1:9/x"\nkind = "other"\n')
    index = tmp_path / "i"
    args = ["refresh", "--sources", str(manifest), "--data-dir", str(tmp_path / "data")]
    args += ["--docs", str(shared.joinpath(*SEED_PARTS)), "--index", str(index)]
    assert cli.main(args) == 1
    captured = capsys.readouterr()
    assert "published index version" in captured.out and (index / "CURRENT").exists()
    assert "no source could be fetched" in captured.err  # and the exit code says so too


def test_eval_with_a_missing_question_file_is_one_line_and_exit_2(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys, seed_index: Path
) -> None:
    missing = tmp_path / "none.jsonl"
    code = cli.main(["eval", "--index", str(seed_index), "--questions", str(missing)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and "none.jsonl" in err and "Traceback" not in err


def test_build_ask_and_eval_round_trip(tmp_path: Path, capsys, shared: Path) -> None:  # type: ignore[no-untyped-def]
    seed, index = shared.joinpath(*SEED_PARTS), str(tmp_path / "index")
    assert cli.main(["build", "--no-sources", "--docs", str(seed), "--index", index]) == 0
    assert "embedded" in capsys.readouterr().out
    assert cli.main(["build", "--no-sources", "--docs", str(seed), "--index", index]) == 0
    assert "up to date" in capsys.readouterr().out

    assert cli.main(["ask", "What is stem cell tourism?", "--json", "--index", index]) == 0
    answer = json.loads(capsys.readouterr().out)
    from web.schemas import AnswerOut

    AnswerOut.model_validate(answer)  # the CLI's JSON is the API's answer object
    assert answer["answer"][0]["text"].startswith("Stem cell tourism")

    questions = shared / "eval" / "seed-dev.jsonl"
    assert cli.main(["eval", "--index", index, "--questions", str(questions), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    for mode in ("fused", "dense", "bm25"):
        row = report["results"][mode][str(questions)]
        assert row["non_verbatim"] == 0 and row["questions"] == 21
    fused = report["results"]["fused"][str(questions)]
    assert fused["hit@3"] >= 0.9 and fused["abstain_rate"] == 1.0
    # a file naming documents this index does not hold: said, not scored silently as misses
    other = tmp_path / "other.jsonl"
    record = {"id": "x", "question": "What is stem cell tourism?", "gold_ids": ["NINDS_1"]}
    other.write_text(json.dumps(record) + "\n")
    assert cli.main(["eval", "--index", index, "--questions", str(other), "--mode", "fused"]) == 0
    assert "1 gold document id not in index version" in capsys.readouterr().err


def test_a_rebuild_embeds_with_the_index_export_without_the_torch_model(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    shared: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed, index = shared.joinpath(*SEED_PARTS), str(tmp_path / "index")
    assert cli.main(["build", "--no-sources", "--docs", str(seed), "--index", index]) == 0
    capsys.readouterr()
    changed = tmp_path / seed.name
    changed.write_text(seed.read_text("utf-8").replace("six months", "seven months"), "utf-8")
    monkeypatch.setattr(cli, "_embedder", _no_model)
    assert cli.main(["build", "--no-sources", "--docs", str(changed), "--index", index]) == 0
    assert "(1 embedded" in capsys.readouterr().out
    assert cli.main(["ask", "How long were patients followed?", "--json", "--index", index]) == 0
    quotes = [s["text"] for s in json.loads(capsys.readouterr().out)["answer"]]
    assert any("seven months" in q for q in quotes)


def test_build_lowers_its_cpu_priority_unless_told_not_to(
    tmp_path: Path, shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[int] = []
    monkeypatch.setattr(cli, "lower_priority", lambda steps, thread_only=False: asked.append(steps))
    monkeypatch.delenv("STEMCELL_QA_BUILD_NICE")
    seed, index = shared.joinpath(*SEED_PARTS), str(tmp_path / "index")
    assert cli.main(["build", "--no-sources", "--docs", str(seed), "--index", index]) == 0
    monkeypatch.setenv("STEMCELL_QA_BUILD_NICE", "0")
    assert cli.main(["build", "--no-sources", "--docs", str(seed), "--index", index]) == 0
    assert asked == [10, 0]


def _no_model() -> None:
    raise AssertionError("the model was loaded")


def test_empty_question_is_refused_before_the_model_loads(
    tmp_path: Path,
    seed_index: Path,
    capsys,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli, "_embedder", _no_model)
    assert cli.main(["ask", "   ", "--index", str(seed_index)]) == 2
    assert "empty" in capsys.readouterr().err
    assert cli.main(["ask", "   ", "--index", str(tmp_path / "none")]) == 2  # question first
    assert "empty" in capsys.readouterr().err


def test_sources_lists_the_index_without_the_model(
    seed_index: Path,
    shared: Path,
    capsys,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli, "_embedder", _no_model)
    assert cli.main(["sources", "--index", str(seed_index)]) == 0
    title = shared.joinpath(*SEED_PARTS).read_text("utf-8").splitlines()[0]
    assert capsys.readouterr().out.split("\t")[:3] == [
        "are-stem-cell-products-safe",
        "other",
        title,
    ]


@pytest.mark.parametrize("command", [["sources"], ["serve"]])
def test_sources_and_serve_without_an_index_are_one_line_and_exit_2(
    tmp_path: Path,
    command: list[str],
    capsys,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uvicorn

    def no_server(*args: object, **kwargs: object) -> None:
        raise AssertionError("the server was started")

    monkeypatch.setattr(uvicorn, "run", no_server)
    monkeypatch.setattr(cli, "_embedder", _no_model)
    assert cli.main([*command, "--index", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "stemcell-qa build" in err and "Traceback" not in err


def test_serve_on_a_damaged_index_is_one_line_and_exit_2(
    tmp_path: Path,
    capsys,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # it was the server's start-up traceback
    import uvicorn

    from index.build import build
    from tests.conftest import FakeEmbedder
    from tests.index.test_build import fixture_docs

    def no_server(*args: object, **kwargs: object) -> None:
        raise AssertionError("the server was started")

    report = build(fixture_docs(), tmp_path, FakeEmbedder())
    (tmp_path / "versions" / report.version / "vectors.npy").write_bytes(b"cut")
    monkeypatch.setattr(uvicorn, "run", no_server)
    assert cli.main(["serve", "--no-sources", "--index", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "vectors.npy is truncated" in err and "build" in err


def test_eval_on_an_index_without_document_origins_says_to_rebuild(
    tmp_path: Path,
    capsys,  # type: ignore[no-untyped-def]
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    from corpus.extract import Meta, extract_plain
    from index.build import build

    text = b"Clinic note\nStem cell tourism carries risks for patients who travel."
    build([extract_plain(text, Meta(source_id="note"))], tmp_path / "index", embedder)
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "1", "question": "What is stem cell tourism?"}) + "\n")
    args = ["eval", "--index", str(tmp_path / "index"), "--questions", str(questions)]
    assert cli.main([*args, "--mode", "fused"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "does not record the file" in err and "--force" in err


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        (
            "STEMCELL_QA_RATE_LIMIT",
            "sixty",
            "STEMCELL_QA_RATE_LIMIT: Input should be a valid integer",
        ),
        ("STEMCELL_QA_TRUSTED_PROXIES", "[10.0.0.1", "STEMCELL_QA_TRUSTED_PROXIES: Value error"),
    ],
)
def test_a_bad_environment_value_is_one_line_naming_the_variable(
    tmp_path: Path,
    capsys,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    said: str,
) -> None:
    # a 41-line traceback, or pydantic's block naming the field "rate_limit" with a link
    monkeypatch.setenv(variable, value)
    assert cli.main(["sources", "--index", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and said in err and repr(value) in err
    assert "Traceback" not in err and "errors.pydantic.dev" not in err


def test_trusted_proxies_may_be_written_as_a_list_or_with_commas(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for value in ('["10.0.0.1", "10.0.0.2"]', "10.0.0.1, 10.0.0.2", "10.0.0.1,10.0.0.2"):
        monkeypatch.setenv("STEMCELL_QA_TRUSTED_PROXIES", value)
        assert Settings().trusted_proxies == ["10.0.0.1", "10.0.0.2"], value


def test_a_path_that_cannot_be_used_is_one_line_before_the_work(
    tmp_path: Path,
    capsys,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # an index folder under a file was a NotADirectoryError traceback; calibrate computed its
    # result and then failed to write it, with a traceback
    from tests.conftest import FakeEmbedder

    monkeypatch.setattr(cli, "_embedder", FakeEmbedder)
    note = tmp_path / "note.md"
    note.write_text("# Note\nStem cells were tested in a small trial.\n")
    assert (
        cli.main(["build", "--no-sources", "--docs", str(note), "--index", str(note / "idx")]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "Not a directory" in err and str(note) in err
    # an index folder that is the documents folder, or inside it: it was built, and the next
    # build read its chunks.jsonl as a document and failed
    for index in (tmp_path, tmp_path / "index"):
        args = ["build", "--no-sources", "--docs", str(tmp_path), "--index", str(index)]
        assert cli.main(args) == 2
        assert "is inside --docs" in capsys.readouterr().err
    monkeypatch.setattr(cli, "_embedder", _no_model)
    out = tmp_path / "missing" / "scorer.json"
    assert cli.main(["calibrate", "--pair", str(tmp_path), str(note), "--out", str(out)]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_a_calibrated_scorer_file_is_used_when_named(
    seed_index: Path,
    tmp_path: Path,
    capsys,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # calibrate --out wrote a scorer that nothing could serve: serve and ask had no way to it
    from dataclasses import replace

    from assistant.scorer import Scorer

    strict = tmp_path / "strict.json"
    replace(Scorer.load(), answer_threshold=1.0).save(strict)  # answers nothing
    asking = ["ask", "What is stem cell tourism?", "--json", "--index", str(seed_index)]
    assert cli.main(asking) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "answered"
    # the text form names each quote's kind of source, as the page labels it
    assert cli.main(asking[:2] + asking[3:]) == 0
    assert "Are Stem Cell Products Safe? [other]" in capsys.readouterr().out
    monkeypatch.setenv("STEMCELL_QA_SCORER", str(strict))
    assert cli.main(asking) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "no_answer"
    monkeypatch.setenv("STEMCELL_QA_SCORER", str(tmp_path / "missing.json"))
    assert cli.main(asking) == 2
    assert capsys.readouterr().err.count("\n") == 1
