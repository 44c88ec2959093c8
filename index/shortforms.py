"""The abbreviations the sources define ("chronic lymphocytic leukemia (CLL)"), for reading a
question that uses the short form: patients write "CLL", "ITP", "COPD", and the embedding
model has little idea what an acronym means, so "is CLL inherited?" sat far from the passage
that answers it and was declined. Each short form the sources define is read, in what the
model embeds, with its definition beside it.

Pairs are found with the Schwartz-Hearst algorithm (`abbreviations` package): a parenthesised
short form after a long form whose words its letters start. Only short forms with at least two
capital letters are kept ("CLL", "IVIg", "UTIs"; not "sores" or "a mineral", which the algorithm
also pairs with text before them).
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping

from wordfreq import zipf_frequency


def _without_its_logging_setup() -> Callable[..., Mapping[str, str]]:
    """Import the Schwartz-Hearst extractor and undo what the import does to logging: the
    module calls `logging.basicConfig(level=INFO)`, which gave every command a root handler in
    its own format (FAISS's start-up lines on `stemcell-qa --help`; `serve`'s log format and
    logger names lost, since a second basicConfig does nothing)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    from abbreviations.schwartz_hearst import extract_abbreviation_definition_pairs

    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    return extract_abbreviation_definition_pairs


extract_abbreviation_definition_pairs = _without_its_logging_setup()

_CAPITALS = re.compile(r"[A-Z]")
_SHORT = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
# A short form written in lower case ("cll", "copd") is read as one only when general English
# does not know it as a word (Zipf below 3: "cll" 2.4, "copd" 2.8; "all" 6.5, "als" 3.4), and when
# it has 3 letters or more ("ms", "pd", "tb" are too many things). Chosen, not fitted.
LOWER_CASE_ZIPF = 3.0
LOWER_CASE_LENGTH = 3


def extract(texts: Iterable[str]) -> dict[str, str]:
    """Short form -> definition, over all `texts`: the definition most often given, in lower
    case (the first of those given equally often)."""
    given: dict[str, Counter[str]] = defaultdict(Counter)
    logging.getLogger("abbreviations.schwartz_hearst").setLevel(logging.WARNING)
    for text in texts:
        for short, long in extract_abbreviation_definition_pairs(doc_text=text).items():
            short, long = str(short).strip(), " ".join(str(long).split()).lower()
            if _SHORT.match(short) and len(_CAPITALS.findall(short)) >= 2 and long:
                given[short][long] += 1
    return {short: counts.most_common(1)[0][0] for short, counts in sorted(given.items())}


# a word as short forms are written: letters, digits and inner hyphens ("CN-AML", "HTLV-1")
_WORD = re.compile(r"(?<![\w-])[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*(?![\w-])")


class Expander:
    """Writes each short form of a text with its definition beside it."""

    def __init__(self, definitions: Mapping[str, str]) -> None:
        self.definitions = dict(definitions)
        self._lower = {
            short.lower(): long
            for short, long in self.definitions.items()
            if len(short) >= LOWER_CASE_LENGTH
            and zipf_frequency(short.lower(), "en") < LOWER_CASE_ZIPF
        }

    def __call__(self, text: str) -> str:
        if not self.definitions:
            return text
        letters = [c for c in text if c.isalpha()]
        # a message in capitals ("IS ALL OF THIS SAFE") has no short forms to tell apart
        shouting = sum(c.isupper() for c in letters) > 0.5 * len(letters)

        said = text.lower()

        def spelled(match: re.Match[str]) -> str:
            word = match.group(0)
            long = self._defines(word, shouting)
            if long is None or long in said:
                return word  # none, or said in full already
            return f"{word} ({long})"

        return _WORD.sub(spelled, text)

    def _defines(self, word: str, shouting: bool) -> str | None:
        long = None if shouting else self.definitions.get(word)
        if long is None and word.islower():
            long = self._lower.get(word)
        return long
