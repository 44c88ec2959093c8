import json
from pathlib import Path

import pytest

from corpus.local import DocumentError, load_jsonl, load_local


def test_medquad_jsonl_import_keeps_all_3006_ids(shared: Path) -> None:
    path = shared / "corpus" / "medquad" / "topical.jsonl"
    docs = load_jsonl(path, print)
    assert len(docs) == 3006
    ids = [json.loads(line)["id"] for line in path.read_text().splitlines()]
    assert [d.source_id for d in docs] == ids
    assert docs[0].url and docs[0].url.startswith("https://")
    assert docs[0].license


def test_malformed_jsonl_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text('{"id": "a", "text": "Fine."}\n{"id": "b", "text": \n')
    with pytest.raises(DocumentError, match=r"docs\.jsonl:2: not valid JSON"):
        load_local([path], print)


def test_jsonl_line_without_text_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text('{"id": "a", "title": "No text"}\n')
    with pytest.raises(DocumentError, match=r"docs\.jsonl:1: missing string field `text`"):
        load_local([path], print)


def test_jsonl_text_with_a_lone_surrogate_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text('{"id": "a", "text": "Fine."}\n{"id": "b", "text": "Bad \\ud800 escape."}\n')
    with pytest.raises(DocumentError, match=r"docs\.jsonl:2: `text` holds a lone surrogate"):
        load_local([path], print)


def test_jsonl_kind_is_one_the_manifest_allows(tmp_path: Path) -> None:
    # a misspelt kind showed a clinic's page to patients as "Other source", without a word
    path = tmp_path / "docs.jsonl"
    lines = [
        {"id": "a", "text": "Our clinic heals.", "kind": "clinic-marketing"},
        {"id": "b", "text": "No kind given."},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert [d.kind for d in load_local([path], print)] == ["clinic-marketing", "other"]
    path.write_text(json.dumps({"id": "c", "text": "x.", "kind": "clinic_marketing"}) + "\n")
    with pytest.raises(DocumentError, match=r"docs\.jsonl:1: kind 'clinic_marketing' is not one"):
        load_local([path], print)


def test_hidden_files_in_a_folder_are_left_out(tmp_path: Path) -> None:
    # an editor's or a draft's hidden file ("unreviewed claims") is no source to quote
    (tmp_path / "notes.md").write_text("# Notes\nReviewed text about stem cells.\n")
    (tmp_path / ".draft.md").write_text("# Draft\nStem cells cure everything.\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "notes.md").write_text("# Old\nAn old copy of the notes.\n")
    assert [d.source_id for d in load_local([tmp_path], print)] == ["notes"]
    # named on its own, a file is indexed whatever its name
    (doc,) = load_local([tmp_path / ".draft.md"], print)
    assert "cure everything" in doc.text


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<script>x</script>"])
def test_jsonl_url_with_unsafe_scheme_is_dropped(tmp_path: Path, url: str) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text(json.dumps({"id": "x", "text": "Stem cells.", "url": url}) + "\n")
    warnings: list[str] = []
    (doc,) = load_local([path], warnings.append)
    assert doc.url is None
    assert "not http(s)" in warnings[0]


def test_file_ids_come_from_paths_and_missing_paths_fail(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "Risk Notes.md").write_text("# Risks\nSome risk text here.\n")
    (doc,) = load_local([tmp_path], print)
    assert doc.source_id == "sub-risk-notes"
    with pytest.raises(DocumentError, match="no such file or folder"):
        load_local([tmp_path / "missing"], print)


def test_a_duplicate_id_names_both_places(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "notes.md").write_text("# Notes\nOne text about stem cells.\n")
    (tmp_path / "b.jsonl").write_text(json.dumps({"id": "a-notes", "text": "Another text."}) + "\n")
    with pytest.raises(DocumentError, match=r"duplicate document id 'a-notes'") as raised:
        load_local([tmp_path], print)
    assert str(tmp_path / "a" / "notes.md") in str(raised.value)
    assert f"{tmp_path / 'b.jsonl'}:1" in str(raised.value)
