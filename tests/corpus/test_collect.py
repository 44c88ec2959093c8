"""Gathering snapshots and local documents into one corpus."""

from __future__ import annotations

from pathlib import Path

from corpus.collect import collect
from corpus.sources import Source


def test_a_saved_copy_of_a_manifest_source_keeps_its_label(tmp_path: Path) -> None:
    blocked = Source(
        id="stem-cells-intl-3734659",
        url="https://onlinelibrary.wiley.com/doi/10.1155/sci/3734659",
        kind="review",
        publisher="Stem Cells International",
        doi="10.1155/sci/3734659",
    )
    saved = tmp_path / "stem-cells-intl-3734659.txt"
    saved.write_text("Stem cell therapies for knee arthritis\nMost trials were small.\n")
    other = tmp_path / "my-notes.txt"
    other.write_text("Notes\nAsk the clinic about approval.\n")
    warnings: list[str] = []
    docs = {d.source_id: d for d in collect([blocked], None, [saved, other], warnings.append)}
    copy = docs["stem-cells-intl-3734659"]
    assert (copy.kind, copy.publisher) == ("review", "Stem Cells International")
    assert copy.title == "Stem cell therapies for knee arthritis"  # the manifest names none
    assert (docs["my-notes"].kind, docs["my-notes"].publisher) == ("other", None)
    assert warnings == []
