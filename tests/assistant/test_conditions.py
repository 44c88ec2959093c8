"""The condition words that tell a story's subject from its asides (assistant/conditions.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import cli
from assistant.conditions import derive, form, packaged, parse, read_records, spelled_out, write


def test_titles_count_once_each_and_bracketed_acronyms_once_per_page() -> None:
    records = [
        {"title": "Lupus", "text": "Lupus is ... systemic lupus erythematosus (SLE) ..."},
        {"title": "Lupus", "text": "Another section on (SLE) and (SLE) again."},
        {"title": "Lupus Nephritis", "text": "Kidney disease caused by lupus."},
        {"title": "Kidney Stones in Adults", "text": "No acronym here (or Here)."},
    ]
    counts = derive(records)
    assert counts["lupus"] == 2  # two distinct titles, though three pages
    assert counts["sle"] == 2  # two pages define it, one of them twice
    assert counts["kidney"] == 1 and counts["stone"] == 1  # listed without the plural "s"
    assert counts["nephritis"] == 1 and counts["adult"] == 1
    assert "in" not in counts and "here" not in counts  # a stop word; no acronym
    assert len(counts) == 6


def test_acronyms_are_spelled_out_by_the_words_whose_initials_they_are() -> None:
    records = [
        {"text": "People with Huntington’s disease (HD) lose ... (HD) again"},
        {"text": "Huntington disease (HD) is inherited."},
        {"text": "Huntington disease (HD) is rare. Creutzfeldt-Jakob disease (CJD) too."},
        {"text": "See the (HIV) page; amyotrophic lateral (ALS); it (IT) is."},
    ]
    names = spelled_out(records)
    assert names["hd"] == "huntington disease"  # two pages of three spell it so
    assert names["cjd"] == "creutzfeldt jakob disease"  # a hyphen parts two initials
    # "(HIV)" and "(ALS)" follow words that do not spell them; "IT" is a stop word
    assert set(names) == {"hd", "cjd"}


def test_the_list_keeps_what_acronyms_stand_for(tmp_path: Path) -> None:
    path = tmp_path / "conditions.txt"
    records = [{"title": "Huntington Disease", "text": "Huntington disease (HD) is ..."}]
    write(derive(records), "stemcell-qa conditions", path, spelled_out(records))
    assert "hd\t1\thuntington disease\n" in path.read_text("utf-8")
    assert dict(parse(path.read_text("utf-8")).expansions) == {"hd": "huntington disease"}


@pytest.mark.parametrize(
    ("written", "listed"),
    [
        ("Parkinson's", "parkinson"),
        ("parkinsons", "parkinson"),
        ("knees", "knee"),
        ("lupus", "lupus"),
        ("sclerosis", "sclerosis"),
        ("ALS", "als"),
        ("careful", "careful"),
    ],
)
def test_words_are_listed_without_possessive_or_plural_but_not_stemmed(
    written: str, listed: str
) -> None:
    assert form(written) == listed


def test_the_list_round_trips_and_a_bad_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "conditions.txt"
    counts = derive([{"title": "Hairy Cell Leukemia", "text": ""}])
    write(counts, "stemcell-qa conditions --corpus x.jsonl", path)
    assert path.read_text("utf-8").startswith("# stemcell-qa conditions")
    assert dict(parse(path.read_text("utf-8")).titles) == dict(counts)
    with pytest.raises(ValueError, match="line 3"):
        parse("# made by hand\nlupus\t5\nautism five\n")


@pytest.mark.parametrize(
    ("phrase", "names"),
    [
        ("lupus", True),
        ("COPD", True),  # defined in brackets on many pages
        ("alzhimers", True),  # a misspelling English does not know, one edit from a title word
        ("heart", True),  # an everyday word, but in more titles than that predicts
        ("a stonemason", False),
        ("his allotment", False),
        ("i work from home", False),  # two titles ("Home Care Services") do not make it one
        ("baclofen", False),  # a drug: the story around the subject
        ("be careful", False),  # a stemmer would make it "care" ("Palliative Care")
    ],
)
def test_words_that_name_conditions(phrase: str, names: bool) -> None:
    assert packaged().named_in(phrase) is names


def test_the_packaged_list_is_what_the_command_makes_from_the_shared_pages(  # type: ignore[no-untyped-def]
    tmp_path: Path, shared: Path, capsys
) -> None:
    packaged_text = Path(cli.__file__).with_name("conditions.txt").read_text("utf-8")
    command = packaged_text.splitlines()[0].removeprefix("# stemcell-qa ").split()
    corpus = [shared.parent / p.removeprefix("../") for p in command[2 : command.index("--out")]]
    out = tmp_path / "conditions.txt"
    assert cli.main(["conditions", "--corpus", *map(str, corpus), "--out", str(out)]) == 0
    assert out.read_text("utf-8").splitlines()[1:] == packaged_text.splitlines()[1:]
    assert "wrote" in capsys.readouterr().err


def test_a_missing_or_malformed_corpus_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "conditions.txt"
    assert (
        cli.main(["conditions", "--corpus", str(tmp_path / "none.jsonl"), "--out", str(out)]) == 2
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"title": "Lupus"}) + "\n[1, 2]\n")
    assert cli.main(["conditions", "--corpus", str(bad), "--out", str(out)]) == 2
    assert cli.main(["conditions", "--corpus", str(bad), "--out", str(tmp_path / "no/c.txt")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "none.jsonl" in err[0] and "bad.jsonl:2" in err[1] and not out.exists()
    assert "no such folder" in err[2] and "Traceback" not in "".join(err)


def test_read_records_skips_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "pages.jsonl"
    path.write_text('{"title": "A"}\n\n{"title": "B"}\n')
    assert [r["title"] for r in read_records([path])] == ["A", "B"]
