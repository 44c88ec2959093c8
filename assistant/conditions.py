"""Words that name a health condition: a story's subject, not its asides.

A patient's story names things no source mentions. In "my grandad was a coal miner" -> "he
got diagnosed with pulmonary fibrosis" -> "still goes to his allotment every day", "miner"
and "allotment" are the story around a subject the sources cover; in "my daughter has
lupus" the one word no source uses is the subject, and what follows ("is it safe for
her?") is about lupus. No tagger ships offline, so the words that name conditions come from
pages that each name one: the titles of consumer-health pages (MedQuAD: one condition, test
or health topic per page) and the acronyms their texts write in brackets ("amyotrophic
lateral sclerosis (ALS)"). `stemcell-qa conditions` derives the list (stemmed) from such
JSONL files; the list ships in the package as conditions.txt, with the command that made it
in its first line.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from index.lexical import tokenize, tokenize_word
from index.vocab import WORD, SpellingSettings, content_word, zipf

# An acronym a page defines in brackets after the name it stands for: "(ALS)", "(COPD)".
_BRACKETED = re.compile(r"\(([A-Z][A-Z0-9]{1,5})\)")


@dataclass(frozen=True)
class Conditions:
    """Stemmed words that name health conditions."""

    titles: Mapping[str, int]  # stem -> how many titles use it
    spelling: SpellingSettings = field(default_factory=SpellingSettings)
    # A word everyday English uses a lot (Zipf 4.5: once in ~30,000 words) names a condition
    # only when several titles use it ("heart", 30 titles; "pain", 18), not when one title
    # happens to ("Home Care Services", "Apparent mineralocorticoid excess"): seen as false hits
    # in the dev stories ("i work from home", "its cheaper apparently"). Chosen, not fitted.
    everyday_zipf: float = 4.5
    min_titles: int = 3

    def named_in(self, phrase: str) -> bool:
        """True when a word of `phrase` names a condition, or is a misspelling of one that
        general English does not know ("alzhimers", "parkinsins")."""
        return any(self._names(word.lower()) for word in WORD.findall(phrase))

    def _names(self, word: str) -> bool:
        stems = tokenize_word(word)
        titles = max((self.titles.get(stem, 0) for stem in stems), default=0)
        if titles:
            return titles >= self.min_titles or zipf(word) < self.everyday_zipf
        s = self.spelling
        if len(word) < s.min_length or zipf(word) >= s.misspelling_zipf or not stems:
            return False
        stem = stems[0]
        limit = 1 if len(word) < s.long_word else 2
        return (
            process.extractOne(
                stem, self._by_initial(stem[0]), scorer=Levenshtein.distance, score_cutoff=limit
            )
            is not None
        )

    def _by_initial(self, initial: str) -> list[str]:
        return self._initials.get(initial, [])

    @cached_property
    def _initials(self) -> dict[str, list[str]]:
        """Stems grouped by first letter (typos rarely change it; see SpellingSettings)."""
        groups: dict[str, list[str]] = {}
        for stem in sorted(self.titles):
            groups.setdefault(stem[0], []).append(stem)
        return groups


def derive(records: Iterable[dict[str, object]]) -> Counter[str]:
    """For each stem of the content words of the records' titles: how many distinct titles
    use it; and of the acronyms their texts define in brackets: how many records do."""
    titles: set[str] = set()
    counts: Counter[str] = Counter()
    for record in records:
        titles.add(str(record.get("title") or ""))
        counts.update(set(tokenize(" ".join(_BRACKETED.findall(str(record.get("text") or ""))))))
    for title in titles:
        words = " ".join(w for w in WORD.findall(title) if content_word(w.lower()))
        counts.update(set(tokenize(words)))
    return counts


def read_records(paths: list[Path]) -> Iterable[dict[str, object]]:
    """The JSON records of JSONL files (the corpus import form: title, text, ...)."""
    for path in paths:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
                if not isinstance(record, dict):
                    raise ValueError(f"{path}:{number}: not a JSON object")
                yield record


def write(counts: Counter[str], command: str, path: Path) -> None:
    """conditions.txt: the command that made it, then a stem and its count per line."""
    lines = "".join(f"{stem}\t{counts[stem]}\n" for stem in sorted(counts))
    path.write_text(f"# {command}\n{lines}", "utf-8")


def parse(text: str) -> Conditions:
    """Read what `write` wrote."""
    counts: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        stem, _, count = line.partition("\t")
        if not stem or not count.isdigit():
            raise ValueError(f"conditions list, line {number}: expected 'stem<TAB>count'")
        counts[stem] = int(count)
    return Conditions(MappingProxyType(counts))


@cache
def packaged() -> Conditions:
    """The list shipped in the package."""
    return parse(resources.files("assistant").joinpath("conditions.txt").read_text("utf-8"))
