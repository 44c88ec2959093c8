from pathlib import Path

import pytest

from corpus.sources import KINDS, ManifestError, default_manifest, load_manifest


def test_default_manifest_lists_the_seven_cited_sources_with_valid_kinds() -> None:
    sources = load_manifest(default_manifest())
    assert len(sources) == 7
    assert {s.kind for s in sources} <= set(KINDS)
    assert any(s.url == "https://clinicaltrials.gov/study/NCT07297576" for s in sources)
    assert next(s for s in sources if s.kind == "clinic-marketing").publisher == "Liv Hospital"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[source]]\nid = "a"\nurl = "https://x.org"\nkind = "blog"\n', "kind 'blog'"),
        ('[[source]]\nid = "a"\nurl = "ftp://x.org"\nkind = "other"\n', "http(s) URL"),
        ('[[source]]\nid = "a"\nkind = "other"\n', "missing or empty `url`"),
        ('[[source]]\nid = "a"\nurl = "https://x.org"\nkind = "other"\n' * 2, "duplicate id"),
        ('[[source]\nid = "a"', "not valid TOML"),
        ('[[source]]\nid = "A B"\nurl = "https://x.org"\nkind = "other"\n', "lowercase"),
        ('[[source]]\nid = "a"\nurl = "https://x.org"\nkind = "review"\npmcid = "12"\n', "PMC"),
        ('[[source]]\nid = "a"\nurl = "https://x.org"\nkind = "review"\ndoi = "x/1"\n', "10.1234"),
    ],
)
def test_malformed_manifest_names_file_and_problem(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(body)
    with pytest.raises(ManifestError) as error:
        load_manifest(path)
    assert str(path) in str(error.value)
    assert message in str(error.value)


def test_a_table_named_otherwise_is_an_error_not_no_sources(tmp_path: Path) -> None:
    # "[[sources]]" was read as a manifest without sources: "fetched 0, failed 0 (offline?)"
    path = tmp_path / "sources.toml"
    path.write_text('[[sources]]\nid = "a"\nurl = "https://example.org/a"\nkind = "review"\n')
    with pytest.raises(
        ManifestError, match=r"unknown table\(s\) sources; entries are \[\[source\]\]"
    ):
        load_manifest(path)
