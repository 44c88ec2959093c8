"""The words an index version's sources use, with a vector per word, for telling which of a
question's words no source addresses (and how far each is from anything the sources say), and
the short forms the sources define ("CLL"), for reading a question that uses them."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA, Levenshtein
from wordfreq import zipf_frequency

from corpus.document import Document
from index.lexical import STOPWORDS
from index.shortforms import Expander

WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)
_STOP = frozenset(STOPWORDS)


# Edits between a misspelling and the word meant: insertions, deletions, substitutions and
# swaps of two neighbouring letters, one each (optimal string alignment, Damerau's four kinds
# of single typing slip). Plain Levenshtein counts a swap as two, so "embyros" (7 letters)
# was not read as "embryos".
TYPO_DISTANCE = OSA.distance


def plain_degree(word: str) -> list[str]:
    """The plain forms a comparative or superlative may be of: "safer", "safest" (safe),
    "longest" (long), "bigger" (big), "riskier" (risky, and the noun it comes from, risks).
    Callers take only forms the sources use, so "chest" or "mother" find nothing; a noun in
    -er may still find a verb ("provider": provide), which names the same subject, or a word
    it only looks like ("liver": live) where the sources use that and not the noun."""
    for suffix in ("est", "er"):
        base = word.removesuffix(suffix)
        if len(word) < 5 or base == word or len(base) < 3:
            continue
        forms = [base, base + "e"]
        if base[-1] == base[-2]:
            forms.append(base[:-1])  # "bigger", "thinnest"
        if base.endswith("i"):
            forms += [base[:-1] + "y", base[:-1], base[:-1] + "s"]  # "riskier": risky, risk(s)
        # a degree is rarer in English than its plain form: not "forest" (fore), "number"
        return [f for f in forms if zipf(f) > zipf(word)]
    return []


@dataclass(frozen=True)
class SpellingSettings:
    """When a question word that no source uses is read as another word that one does."""

    # Zipf frequency (log10 of uses per billion words, from `wordfreq`) below which a word is
    # unknown to general English and so probably a misspelling: 2 = once in ten million words
    # ("dianosed" 0, "leukemea" 0; real rare words such as "mscs" 2.0, "overselling" 1.7 are
    # rarely in a health corpus's vocabulary as typos). Chosen, not fitted.
    misspelling_zipf: float = 2.0
    # Edits allowed for a misspelling: one, two from 10 letters. Stricter than common typo
    # tolerance (Elasticsearch's AUTO fuzziness: 1 from 3 letters, 2 from 6) because a medical
    # vocabulary is dense: at two edits "keratitis" becomes "hepatitis". Two neighbouring
    # letters swapped ("embyros") count as one edit (`TYPO_DISTANCE`).
    long_word: int = 10
    min_length: int = 5  # shorter words ("luhf" -> "luh") have too many neighbours
    # ... except the commonest slip in a short word, a dropped letter ("cels" for "cells",
    # "tumr", "hert"): a four-letter word English does not know (below `misspelling_zipf`),
    # written in lower case (not an acronym: "VDRL"), one letter short of a source word
    # `commoner_by` commoner. Not a letter too many: "luhf" is not "luh". Chosen, not fitted.
    short_length: int = 4
    # A word general English knows, but rarely (below Zipf 3: "comon" 2.05, "thier" 2.99,
    # "recieve" 2.75 are common typos that web text is full of), is read as a misspelling
    # when the source word one edit away is at least this much commoner (Zipf is log10: 2 =
    # a hundred times). The noisy-channel reading (Norvig's corrector): a rare string next to
    # a far commoner word was most likely meant as that word; "breastfeed" (2.82) beside
    # "breastfed" (similar) or "rotator" (2.65, no neighbour) are left as written, and so is
    # a capitalised word (a name: "Weill", 2.6, beside "well"). Chosen, not fitted.
    known_typo_zipf: float = 3.0
    commoner_by: float = 2.0
    # Typos rarely change a word's first letter, and requiring it keeps unrelated terms apart.


# British spellings and their US forms (the NIH sources are American): whole-pattern rewrites
# applied to a word before looking it up, most specific first.
_BRITISH = (
    ("aemia", "emia"),
    ("aem", "em"),
    ("oesoph", "esoph"),
    ("oedema", "edema"),
    ("oestr", "estr"),
    ("rrhoea", "rrhea"),  # diarrhoea, gonorrhoea
    ("pnoea", "pnea"),  # apnoea, dyspnoea
    ("coeli", "celi"),  # coeliac
    ("foet", "fet"),  # foetus, foetal
    ("amoeb", "ameb"),
    ("paed", "ped"),
    ("haem", "hem"),
    ("ae", "e"),
    ("our", "or"),
    ("ise", "ize"),
    ("isation", "ization"),
    ("yse", "yze"),
    ("tre", "ter"),
    ("ogue", "og"),
)


def words(text: str) -> list[str]:
    """Lower-cased word forms (letters and inner apostrophes)."""
    return [w.lower().replace("’", "'") for w in WORD.findall(text)]


def content_word(word: str) -> bool:
    """A word that can carry a question's subject: not a stop word, at least three letters."""
    return len(word) >= 3 and word not in _STOP


# Words for the people a message is about ("my dad", "her gran"): whom it asks for, not
# what it asks about. Not "children" or "baby": care for them can be the subject. Chosen,
# not fitted.
_PEOPLE = frozenset(
    [
        "mum",
        "mom",
        "mummy",
        "mommy",
        "mam",
        "dad",
        "daddy",
        "father",
        "mother",
        "son",
        "daughter",
        "brother",
        "sister",
        "husband",
        "wife",
        "hubby",
        "partner",
        "boyfriend",
        "girlfriend",
        "fiance",
        "fiancee",
        "gran",
        "granny",
        "grandma",
        "grandmother",
        "nan",
        "nana",
        "grandad",
        "granddad",
        "grandpa",
        "grandfather",
        "aunt",
        "auntie",
        "aunty",
        "uncle",
        "nephew",
        "niece",
        "cousin",
        "friend",
        "neighbour",
        "neighbor",
        "colleague",
        "stepdad",
        "stepmum",
        "stepmom",
        "stepson",
        "stepdaughter",
        "grandson",
        "granddaughter",
        "grandchild",
        "nanna",
        "mama",
        "papa",
        "bro",
        "sis",
        "bestie",
        "mate",
        "boss",
        "coworker",
        "roommate",
        "flatmate",
    ]
)

# Words that frame a message rather than name what it asks about: reporting verbs ("his doc
# mentioned msc", "i heard msc can cause cancer"; not "hear" or "read": "hearing" and
# "reading" can be what a patient asks about) and chat fillers. (Indefinite pronouns, as in
# "and nobody got cancer from it??", would belong here too, but "nobody" is in the training
# rewrites' templates: with it the scorer refits and its focus threshold moves, 0.0491 ->
# 0.0507, which let "how much does stem cell therapy cost roughly? ..." through.) Whether a
# source uses them says nothing about whether it covers the question, so they are never
# weighed as its subject. Chosen, not fitted.
_FRAMING = frozenset(
    [
        "mention",
        "mentions",
        "mentioned",
        "mentioning",
        "said",
        "says",
        "saying",
        "tell",
        "tells",
        "told",
        "telling",
        "heard",
        "wonder",
        "wondered",
        "wondering",
        "curious",
        "asking",
        "asked",
        # what the asker anticipates ("what side effects should I expect"): how it is asked
        "expect",
        "expected",
        "expecting",
        # adverbs that hedge, stress or link ("is that also safe", "are they safe overall
        # or not really"): how something is asked, never what
        "also",
        "really",
        "actually",
        "even",
        "still",
        "maybe",
        "perhaps",
        "anyway",
        "anyways",
        "though",
        "however",
        "already",
        "basically",
        "honestly",
        "literally",
        "probably",
        "definitely",
        "certainly",
        "quite",
        "rather",
        "instead",
        "anymore",
        "exactly",
        "seriously",
        "totally",
        "truly",
        "simply",
        "overall",
        "kinda",
        "sorta",
        "ngl",
        # asking for more of what was said ("more details please", "can you explain that
        # more simply"): how something is asked, never what
        "please",
        "explain",
        "explained",
        "elaborate",
        "clarify",
        "details",
        # chat spellings of function words ("how long till he notices", "cuz its cheaper")
        "till",
        "til",
        "cuz",
        "coz",
        "cos",
        "gonna",
        "wanna",
        "gotta",
        "dunno",
        "lemme",
        "lol",
        "tho",
        "pls",
        "plz",
        "thx",
        "btw",
        "omg",
        "idk",
        "tbh",
        "imo",
        "haha",
    ]
)


def person_word(word: str) -> bool:
    """A word for a relative or friend (lower case): who a question is for."""
    return word in _PEOPLE


def framing_word(word: str) -> bool:
    """A word (lower case) that frames a message and names nothing (`_FRAMING`)."""
    return word in _FRAMING


# Contractions typed without the apostrophe ("hes a plumber", "dont know", "shes 22"): stop
# words as written with it, so never a subject. Not those that spell another word ("ill",
# "well", "were", "shed", "hell", "shell", "wed"). Chosen, not fitted.
_CONTRACTIONS = frozenset(
    [
        "aint",
        "arent",
        "cant",
        "couldnt",
        "couldve",
        "didnt",
        "doesnt",
        "dont",
        "hadnt",
        "hasnt",
        "havent",
        "hes",
        "heres",
        "hows",
        "im",
        "isnt",
        "ive",
        "mightnt",
        "mustnt",
        "shes",
        "shouldnt",
        "shouldve",
        "thats",
        "theres",
        "theyd",
        "theyll",
        "theyre",
        "theyve",
        "wasnt",
        "werent",
        "weve",
        "whats",
        "whens",
        "wheres",
        "whos",
        "whys",
        "wont",
        "wouldnt",
        "wouldve",
        "youd",
        "youll",
        "youre",
        "youve",
        "yall",
    ]
)


def contraction(word: str) -> bool:
    """A contraction typed without its apostrophe (lower case): `_CONTRACTIONS`."""
    return word in _CONTRACTIONS


# Two-letter capitals that greet or sign off rather than name something. Chosen, not fitted.
_NOT_NAMES = frozenset({"ok", "hi", "ps", "am", "pm"})


# Chat shorthand for content words, read as the word itself ("what side effects did ppl get").
# Common English forms of three letters or more with one reading in health messages ("docs"
# and "prob" have two: left as written). Chosen, not fitted.
# "tried": what was tested, which sources say with "trial" ("has anyone tried stem cells for
# pulmonary fibrosis", "have they been tried in the lungs?"); not "try" or "trying", which ask
# what to do ("what else can I try", "we are trying for a baby"). Chosen, not fitted; not
# "trialled" either: read as "trial", "has anyone trialled that?" quoted the seed article's
# sentence on clinical trials before the lung trial's (seed-patients5).
_TESTED = {"tried": "trial"}
_SHORTHAND = {
    "ppl": "people",
    "yrs": "years",
    "mths": "months",
    "mnths": "months",
    "wks": "weeks",
    "hrs": "hours",
    "mins": "minutes",
    "govt": "government",
    "appt": "appointment",
    "approx": "approximately",
    "info": "information",
    "meds": "medications",
    "diff": "difference",
}


# Clinical shorthand patients copy from their notes and forums ("dad was dx'd last yr", "any
# tx for it?", "what are the sx"): read as what it stands for. The embedding model reads "dx",
# "tx", "bx" as little more than letters ("my bx came back showing DCIS" scored 0.33 against
# 0.54 spelled out). Common forms with one reading in a patient's message; not "pt" (patient,
# physical therapy) or "fx". Chosen, not fitted.
_CLINICAL = {
    "dx": "diagnosis",
    "dx'd": "diagnosed",
    "dxd": "diagnosed",
    "ddx": "differential diagnosis",
    "tx": "treatment",
    "tx'd": "treated",
    "rx": "prescription",
    "rx'd": "prescribed",
    "sx": "symptoms",
    "hx": "history",
    "fhx": "family history",
    "bx": "biopsy",
    "abx": "antibiotics",
    # clipped names of conditions and treatments ("dad was diagnosed w afib": an exploratory
    # check's patient was declined, "afib" named uncovered, on pages that say "atrial
    # fibrillation")
    "afib": "atrial fibrillation",
    "vfib": "ventricular fibrillation",
    "chemo": "chemotherapy",
    "mets": "metastases",
}
# ... and as a verb where one is wanted: "was dx with", "got dx at 30", "dx with PD in 2019"
_CLINICAL_VERBS = {"dx": "diagnosed", "tx": "treated"}
_AS_VERB_BEFORE = re.compile(
    r"\b(?:am|is|are|was|were|be|been|being|get|gets|got|getting|just|recently)\W*$", re.I
)
_AS_VERB_AFTER = re.compile(r"^\W*(?:with|w/|at)\b", re.I)


def clinical(text: str, start: int, end: int) -> str | None:
    """What the clinical shorthand at text[start:end] stands for ("dx" -> "diagnosis", or
    "diagnosed" in "was dx with"); None for other words and for two capitals ("TX" is Texas as
    often as treatment)."""
    written = text[start:end]
    if len(written) == 2 and written.isupper():
        return None
    word = written.lower().replace("\u2019", "'")
    verb = _CLINICAL_VERBS.get(word)
    if verb and (_AS_VERB_BEFORE.search(text[:start]) or _AS_VERB_AFTER.match(text[end:])):
        return verb
    return _CLINICAL.get(word)


# Health bodies patients name by their letters ("is it FDA approved?", "does the NHS pay for
# it?"). The embedding model has little idea what the letters mean, so a question that leans on
# one barely moved without it and was answered from sources that never mention it ("are stem
# cell clinics FDA approved?" took "Many approved treatments in clinical trials ..."); written
# out beside the letters, as the sources' own short forms are. The sources' definitions win.
# Chosen, not fitted: regulators and public health bodies of the English-speaking countries.
BODIES = {
    "FDA": "Food and Drug Administration",
    "EMA": "European Medicines Agency",
    "MHRA": "Medicines and Healthcare products Regulatory Agency",
    "TGA": "Therapeutic Goods Administration",
    "CDC": "Centers for Disease Control and Prevention",
    "NIH": "National Institutes of Health",
    "NHS": "National Health Service",
    "WHO": "World Health Organization",
    "NICE": "National Institute for Health and Care Excellence",
}


def acronym(written: str) -> bool:
    """A two-letter word written in capitals that names something ("MS", "CP", "UK"): it
    can carry a question's subject although it is short. Stop words in capitals ("IS",
    "MY", in a message typed in capitals) and greetings ("OK", "HI") do not."""
    word = written.lower()
    return len(word) == 2 and written.isupper() and word not in _STOP and word not in _NOT_NAMES


def zipf(word: str) -> float:
    """How common `word` is in general English (wordfreq's Zipf scale, 0 = unknown)."""
    return float(zipf_frequency(word, "en"))


# The shortest part of a word written for two ("stemcell"): three letters ("arm", "leg").
# Chosen, not fitted.
_COMPOUND_PART = 3


@dataclass(frozen=True)
class Vocabulary:
    """Content words of the sources with their counts and (row-aligned) vectors."""

    words: tuple[str, ...]
    counts: np.ndarray  # int32
    vectors: np.ndarray  # float32 (len(words), dim), L2-normalised
    # short form -> definition, as the sources define them (`shortforms.extract`)
    abbreviations: dict[str, str] = field(default_factory=dict)
    spelling: SpellingSettings = field(default_factory=SpellingSettings)

    @cached_property
    def expand(self) -> Expander:
        """Writes each short form the sources define, or the health bodies patients name
        (`BODIES`), with its definition beside it."""
        return Expander({**BODIES, **self.abbreviations})

    @cached_property
    def index(self) -> dict[str, int]:
        """Row of each word."""
        return {w: i for i, w in enumerate(self.words)}

    @cached_property
    def _by_initial(self) -> dict[tuple[str, int], list[str]]:
        groups: dict[tuple[str, int], list[str]] = {}
        for word in self.words:
            groups.setdefault((word[0], len(word)), []).append(word)
        return groups

    def __contains__(self, word: object) -> bool:
        return word in self.index

    def compound(self, word: str) -> str | None:
        """Two words the sources use written as one ("stemcell" -> "stem cell", "sideeffects"
        -> "side effects"), for a word general English does not know; each part a word it
        knows, of three letters or more (the split whose rarer part is commonest), in the
        sources' form. None otherwise: "therapist" is no "the rapist"."""
        s = self.spelling
        if zipf(word) >= s.misspelling_zipf or len(word) < 2 * _COMPOUND_PART:
            return None
        best: tuple[float, str] | None = None
        for cut in range(_COMPOUND_PART, len(word) - _COMPOUND_PART + 1):
            parts = (word[:cut], word[cut:])
            score = min(zipf(p) for p in parts)
            if score < s.known_typo_zipf:
                continue  # known words only: their variants are their inflections, no typos
            forms = [self.variant(p) for p in parts]
            if all(forms) and (best is None or score > best[0]):
                best = (score, " ".join(f for f in forms if f))
        return best[1] if best else None

    def variant(self, word: str, name: bool = False) -> str | None:
        """A word the sources use that `word` is a spelling or inflection of, if any.

        Plural/singular, British/US forms and chat shorthand ("ppl") always count;
        edit-distance neighbours only for words general English does not know, or knows as
        rare next to a far commoner neighbour (probable typos; not for a `name`: the word was
        written capitalised), preferring the commonest.
        """
        if word in self.index:
            return word
        if word in _SHORTHAND:  # read as the full word, when the sources use it
            return self.variant(_SHORTHAND[word])
        if word in _TESTED:  # "has anyone tried it": as the sources' "trial", when they use it
            return self.variant(_TESTED[word])
        forms = [word + "s", word + "es", word[:-1] if word.endswith("s") else ""]
        if word.endswith("'s"):
            forms.append(word[:-2])
        if len(word) >= 5 and word.endswith("y") and not word.endswith("ly"):
            # an adjective made from a noun the sources use: "risky" (risks), "healthy"
            forms += [word[:-1], word[:-1] + "s"]
        for old, new in _BRITISH:
            if old in word:
                forms.append(word.replace(old, new))
        for form in forms:
            if form and form in self.index:
                return form
        s = self.spelling
        known = zipf(word)
        if len(word) == s.short_length and not name and known < s.misspelling_zipf:
            return self._letter_slip(word, known)
        if len(word) < s.min_length or known >= s.known_typo_zipf:
            return None
        limit = 1 if len(word) < s.long_word else 2
        best: tuple[int, int, str] | None = None
        for length in range(len(word) - limit, len(word) + limit + 1):
            pool = self._by_initial.get((word[0], length), [])
            for candidate, distance, _ in process.extract(
                word, pool, scorer=TYPO_DISTANCE, score_cutoff=limit, limit=5
            ):
                if known >= s.misspelling_zipf and (
                    name or zipf(candidate) - known < s.commoner_by
                ):
                    continue  # a real, if rare, word (or a name): not a slip for this one
                key = (int(distance), -int(self.counts[self.index[candidate]]), candidate)
                best = key if best is None or key < best else best
        return best[2] if best else None

    def _letter_slip(self, word: str, known: float) -> str | None:
        """The commonest source word that is `word` with one letter put back, far commoner
        in English; None when there is none."""
        best: tuple[int, str] | None = None
        for candidate in self._by_initial.get((word[0], len(word) + 1), []):
            if (
                Levenshtein.distance(word, candidate) == 1
                and zipf(candidate) - known >= self.spelling.commoner_by
            ):
                key = (-int(self.counts[self.index[candidate]]), candidate)
                best = key if best is None or key < best else best
        return best[1] if best else None

    def nearest(self, vectors: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """For each row of `vectors`: the best cosine to a source word, and that word."""
        if not len(self.words) or not len(vectors):
            return np.zeros(len(vectors), dtype=np.float32), ["" for _ in vectors]
        sims = vectors.astype(np.float32) @ self.vectors.T
        best = sims.argmax(axis=1)
        return sims[np.arange(len(vectors)), best], [self.words[i] for i in best]

    def save(self, folder: Path) -> None:
        """Write `vocab.json` (words, counts, abbreviations) and `vocab_vectors.npy` (float16)
        into `folder`."""
        payload = {
            "words": list(self.words),
            "counts": [int(c) for c in self.counts],
            "abbreviations": self.abbreviations,
        }
        (folder / "vocab.json").write_text(json.dumps(payload, ensure_ascii=False), "utf-8")
        np.save(folder / "vocab_vectors.npy", self.vectors.astype(np.float16))

    @classmethod
    def load(cls, folder: Path) -> Vocabulary:
        """Read what `save` wrote."""
        payload = json.loads((folder / "vocab.json").read_text("utf-8"))
        vectors = np.load(folder / "vocab_vectors.npy").astype(np.float32)
        if vectors.shape[0] != len(payload["words"]):
            raise ValueError("vocab_vectors.npy does not match vocab.json")
        return cls(
            tuple(payload["words"]),
            np.array(payload["counts"], np.int32),
            vectors,
            dict(payload["abbreviations"]),
        )


def source_words(documents: list[Document]) -> Counter[str]:
    """Content words of every document's title and text, with their counts."""
    counts: Counter[str] = Counter()
    for doc in documents:
        counts.update(w for w in words(f"{doc.title}\n{doc.text}") if content_word(w))
    return counts
