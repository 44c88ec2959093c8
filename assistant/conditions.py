"""Words that name a health condition: a story's subject, not its asides.

A patient's story names things no source mentions. In "my grandad was a coal miner" -> "he
got diagnosed with pulmonary fibrosis" -> "still goes to his allotment every day", "miner"
and "allotment" are the story around a subject the sources cover; in "my daughter has
lupus" the one word no source uses is the subject, and what follows ("is it safe for
her?") is about lupus. No tagger ships offline, so the words that name conditions come from
pages that each name one: the titles of consumer-health pages (MedQuAD: one condition, test
or health topic per page) and the acronyms their texts write in brackets ("amyotrophic
lateral sclerosis (ALS)"). `stemcell-qa conditions` derives the list from such
JSONL files; the list ships in the package as conditions.txt, with the command that made it
in its first line.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from rapidfuzz import process

from index.lexical import tokenize_word
from index.vocab import TYPO_DISTANCE, WORD, SpellingSettings, content_word, zipf

# An acronym a page defines in brackets after the name it stands for: "(ALS)", "(COPD)".
_BRACKETED = re.compile(r"\(([A-Z][A-Z0-9]{1,5})\)")
# The words before it, whose initials spell it ("Huntington's disease (HD)")
_NAME_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")


@dataclass(frozen=True)
class Conditions:
    """Words that name health conditions."""

    titles: Mapping[str, int]  # word (`form`) -> how many titles use it
    # acronym (`form`) -> the name the pages spell it out as most often ("hd" -> "huntington
    # disease"), for acronyms whose initials the words before the brackets spell
    expansions: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    spelling: SpellingSettings = field(default_factory=SpellingSettings)
    # A word names a condition when more titles use it than its everyday use predicts: in
    # more than 10 ** (Zipf - `title_zipf`) titles. A rare word (Zipf below 4: "lupus",
    # "spasm", "myeloma") needs one title; "heart" (Zipf 5.3) needs 20 and has 30; "back"
    # (6.0) would need 100 and has 3 ("Back Pain", ...), "night" (5.6) 40 and has 3, and
    # "oxygen" (4.3) 2 and has 1 ("Oxygen Therapy"). Seen as false hits in the dev stories
    # ("hes back playing football", "shes on oxygen at night"). Chosen, not fitted.
    title_zipf: float = 4.0

    def named_in(self, phrase: str) -> bool:
        """True when a word of `phrase` names a condition, or is a misspelling of one that
        general English does not know ("alzhimers", "parkinsins")."""
        return any(self._names(word.lower()) for word in WORD.findall(phrase))

    def _names(self, word: str) -> bool:
        key = form(word)
        titles = self.titles.get(key, 0)
        if titles:
            return titles > 10 ** (zipf(word) - self.title_zipf)
        s = self.spelling
        if len(word) < s.min_length or zipf(word) >= s.misspelling_zipf:
            return False
        limit = 1 if len(word) < s.long_word else 2
        return (
            process.extractOne(
                key, self._by_initial(key[0]), scorer=TYPO_DISTANCE, score_cutoff=limit
            )
            is not None
        )

    def _by_initial(self, initial: str) -> list[str]:
        return self._initials.get(initial, [])

    @cached_property
    def _initials(self) -> dict[str, list[str]]:
        """Listed words grouped by first letter (typos rarely change it; SpellingSettings)."""
        groups: dict[str, list[str]] = {}
        for listed in sorted(self.titles):
            groups.setdefault(listed[0], []).append(listed)
        return groups


def form(word: str) -> str:
    """A word as listed: lower case, without a possessive or a plural "s" ("Parkinson's",
    "parkinsons" -> "parkinson"; "knees" -> "knee"; not "lupus" or "sclerosis"). Not a
    stem: a stemmer also joins words a story uses apart from the conditions ("careful" and
    "Palliative Care", "ironic" and "Iron Overload")."""
    word = word.lower().replace("’", "'")
    word = word.removesuffix("'s").replace("'", "")
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    return word


def derive(records: Iterable[dict[str, object]]) -> Counter[str]:
    """For each content word of the records' titles (as `form` lists it): how many distinct
    titles use it; and for each acronym their texts define in brackets: how many records
    do."""
    titles: set[str] = set()
    counts: Counter[str] = Counter()
    for record in records:
        titles.add(str(record.get("title") or ""))
        acronyms = _BRACKETED.findall(str(record.get("text") or ""))
        counts.update({form(a) for a in acronyms if tokenize_word(a)})  # not "(US)", "(IT)"
    for title in titles:
        counts.update({form(w) for w in WORD.findall(title) if content_word(w.lower())})
    return counts


def spelled_out(records: Iterable[dict[str, object]]) -> dict[str, str]:
    """For each acronym the records' texts define in brackets right after words whose
    initials spell it ("amyotrophic lateral sclerosis (ALS)", "Creutzfeldt-Jakob disease
    (CJD)"): the name most pages give it (lower case; ties: the first in sort order)."""
    names: dict[str, Counter[str]] = {}
    for record in records:
        text = str(record.get("text") or "")
        for match in _BRACKETED.finditer(text):
            acronym = match.group(1)
            if not acronym.isalpha() or not tokenize_word(acronym):
                continue
            before = _NAME_WORD.findall(text[max(0, match.start() - 200) : match.start()])
            words = before[-len(acronym) :]
            if len(words) == len(acronym) and "".join(w[0] for w in words).upper() == acronym:
                name = " ".join(words).lower().replace("’", "'")
                names.setdefault(form(acronym), Counter())[name] += 1
    return {a: min(c, key=lambda n: (-c[n], n)) for a, c in sorted(names.items())}


def read_records(paths: list[Path]) -> Iterable[dict[str, object]]:
    """The JSON records of JSONL files (the corpus import form: title, text, ...); a bad
    line raises `DocumentError` (a ValueError) naming the file and line."""
    # only the `conditions` command reads pages: the server never loads corpus/ for it
    from corpus.local import DocumentError, jsonl_records

    for path in paths:
        for number, _, record in jsonl_records(path):
            if not isinstance(record, dict):
                raise DocumentError(f"{path}:{number}: each line must be a JSON object")
            yield record


def write(
    counts: Counter[str], command: str, path: Path, expansions: Mapping[str, str] | None = None
) -> None:
    """conditions.txt: the command that made it, then a word and its count per line, and for
    an acronym the name it stands for after a second tab."""
    names = expansions or {}
    lines = "".join(
        f"{word}\t{counts[word]}" + (f"\t{names[word]}" if word in names else "") + "\n"
        for word in sorted(counts)
    )
    staged = path.with_name(f".{path.name}.tmp")  # a failed write leaves the old list whole
    staged.write_text(f"# {command}\n{lines}", "utf-8")
    os.replace(staged, path)


def parse(text: str) -> Conditions:
    """Read what `write` wrote."""
    counts: dict[str, int] = {}
    names: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        word, _, rest = line.partition("\t")
        count, _, name = rest.partition("\t")
        if not word or not count.isdigit():
            raise ValueError(
                f"conditions list, line {number}: expected 'word<TAB>count[<TAB>name]'"
            )
        counts[word] = int(count)
        if name:
            names[word] = name
    return Conditions(MappingProxyType(counts), MappingProxyType(names))


@cache
def packaged() -> Conditions:
    """The list shipped in the package."""
    return parse(resources.files("assistant").joinpath("conditions.txt").read_text("utf-8"))
