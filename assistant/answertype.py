"""What kind of detail a question asks for, and whether a sentence gives one.

"How long is the recovery after a stem cell injection?" asks for a span of time; a sentence on
"blood recovery after transplants" shares its words but gives none, and quoting it answers a
question nobody asked. A question that asks for a duration, a time, a count, a dose, a share
("what percentage", "success rate"), a frequency, an age, what letters stand for, a place, who
runs or checks something, how to join, pain, men or women, an animal or a price is answered
only by a sentence holding one (a question-answering system's "expected answer type"). The
patterns are chosen from what English uses for each kind, not fitted to any question set.
"""

from __future__ import annotations

import re

from assistant.followup import asked_part, asks, opens_like_a_question, question_units
from index.vocab import content_word, words

# a number, in digits or words
_COUNT = (
    r"(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|"
    r"fifty|sixty|seventy|eighty|ninety|hundreds?|thousands?|millions?|billions?|dozens?|"
    r"half)"
)
# ... or a vague one, before a unit of time ("a few weeks", "many years")
_NUMBER = rf"(?:{_COUNT}|a|an|a few|a couple of|several|many)"
_UNIT = r"(?:seconds?|minutes?|hours?|days?|nights?|weeks?|months?|years?|decades?)"
_YEAR = r"(?:1[89]|20)\d\d"
_MONTH = r"(?:january|february|march|april|june|july|august|september|october|november|december)"
# the places a "which ..." question asks for, and the words that ask for a price: both ask and
# name the detail (`_NAMING`)
_PLACES = (
    r"(?:hospitals?|cit(?:y|ies)|countr(?:y|ies)|clinics?|states?|cent(?:er|re)s?|"
    r"universit(?:y|ies))"
)
_PRICES = (
    r"(?:cost|costs|costing|price|prices|priced|afford|expensive|cheap|fees?|insurance|insurer)"
)

# Each kind: (what asks for it, what gives it).
_KINDS: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "duration": (
        re.compile(
            rf"\bhow\s+(?:long|soon|quickly|fast)\b|\bhow\s+(?:many\s+{_UNIT}|much\s+time)\b|"
            r"\b(?:recovery|healing|waiting)\s+times?\b|\btime\s+off\b",
            re.I,
        ),
        re.compile(
            rf"\b{_NUMBER}[\s-]+{_UNIT}\b|"
            r"\b(?:permanent(?:ly)?|lifelong|for life|temporar(?:y|ily))\b",
            re.I,
        ),
    ),
    "time": (
        # "when does the trial start?", not "when should I see a doctor?" (a condition)
        re.compile(
            r"^(?:(?:and|so|but|ok|okay|then|also)\W+)*(?:what\s+year|"
            r"when(?!\s+(?:should|to|is\s+it|do\s+(?:i|you|we)\s+need)\b))\b",
            re.I,
        ),
        re.compile(
            rf"\b{_YEAR}s?\b|\b{_MONTH}\b|\bago\b|\b{_NUMBER}[\s-]+{_UNIT}\b|"
            r"\b(?:birth|infancy|childhood|adolescence|adulthood|middle age|old age|"
            r"ages?|aged|older|younger|years old)\b",
            re.I,
        ),
    ),
    "frequency": (
        re.compile(r"\bhow\s+(?:often|frequently)\b|\bhow\s+many\s+times\b", re.I),
        re.compile(
            rf"\b(?:once|twice|daily|weekly|monthly|yearly|annually|every|per|{_COUNT}\s+times|"
            r"repeated(?:ly)?|regularly|single)\b",
            re.I,
        ),
    ),
    "share": (
        re.compile(r"\bwhat\s*(?:%|percent(?:age)?\b|proportion\b)|\bsuccess\s+rates?\b", re.I),
        # "40%", "1 in 4", "one out of ten", "the majority", "most patients"
        re.compile(
            rf"%|\bper\s*cent\b|\bpercent(?:age)?\b|\bproportion\b|"
            rf"\b{_COUNT}\s+(?:in|out\s+of)\s+{_COUNT}\b|"
            r"\b(?:half|a\s+third|a\s+quarter|majority|minority)\b|\bmost\s+(?:of|people|patients)\b",
            re.I,
        ),
    ),
    "count": (
        # ... and "how much" before what is counted, as learners of English write it ("how
        # much patients will they take")
        re.compile(
            r"\bhow\s+many\b|\bhow\s+much\s+(?:people|persons|patients|participants|ppl|"
            r"studies|trials|cells|injections|sessions|treatments|doses|times)\b",
            re.I,
        ),
        re.compile(
            # not "most": "people who need help most" gives no count; nor a year ("a trial
            # starting in 2026" says when, not how many)
            rf"\b(?!{_YEAR}\b){_COUNT}\b|%|\b(?:percent|majority|minority|few|"
            r"rare|rarely|common|uncommon|prevalence|incidence|none|no one|nobody)\b",
            re.I,
        ),
    ),
    "dose": (
        re.compile(r"\b(?:what|which)\s+(?:kind\s+of\s+)?(?:doses?|dosage|dosis)\b", re.I),
        # an amount with its unit, or one given per body weight
        re.compile(
            rf"\b{_COUNT}\s*(?:mg|milligrams?|ml|millilit(?:er|re)s?|mcg|micrograms?|g|grams?|"
            r"units?|iu|(?:million|billion)\s+cells)\b|\bper\s+(?:kg|kilogram)\b",
            re.I,
        ),
    ),
    "age": (
        re.compile(
            r"\b(?:age\s+(?:limits?|cut-?offs?|restrictions?|requirements?|range)|"
            r"(?:upper|minimum|maximum|lower)\s+age|too\s+(?:old|young)|how\s+old|what\s+age)\b",
            re.I,
        ),
        re.compile(
            r"\b(?:ages?|aged|years?[\s-]+old|older|younger|elderly|child|children|kids?|"
            r"adults?|infants?|babies|teen(?:ager)?s?|adolescen\w+)\b|\b(?:under|over)\s+\d+",
            re.I,
        ),
    ),
    "expansion": (
        re.compile(r"\bstands?\s+for\b|\bshort\s+for\b|\babbreviation\b", re.I),
        # "mesenchymal stem cells, or MSCs,", "amyotrophic lateral sclerosis (ALS)"
        re.compile(
            r"\([A-Z][A-Za-z0-9]{1,6}\)|\bor\s+[A-Z]{2,}s?\b|\bstands?\s+for\b|"
            r"\bshort\s+for\b|\babbreviat\w*"
        ),
    ),
    "place": (
        # where a trial runs or which hospital, not "where do stem cells come from?"
        re.compile(
            r"\bwhere\s+(?:is|are|was|were|will)\b[^?.]{0,60}?\b(?:held|happening|run|running|"
            r"based|located|taking\s+place|done|conducted|carried\s+out|performed)\b|"
            rf"\bwhere\s+is\s+it\W*$|\b(?:which|what)\s+{_PLACES}\b",
            re.I,
        ),
        re.compile(
            r"\b(?:hospitals?|cent(?:er|re)s?|universit(?:y|ies)|cit(?:y|ies)|countr(?:y|ies)|"
            r"states?|abroad|overseas|located|nationwide)\b|\b(?:in|at|near)\s+(?:the\s+)?[A-Z][a-z]+"
        ),
    ),
    "agent": (
        # who runs, funds or oversees something, not "who should not get stem cells?" (a
        # group of patients) nor "who pays?" (money)
        re.compile(
            r"\bwho(?:'?s|\s+(?:is|are|was|were|will\s+be))?\s+(?:running|leading|doing|"
            r"conducting|funding|sponsoring|behind|in\s+charge|responsible|organi[sz]ing)\b|"
            r"\bwho\s+(?:runs|leads|funds|sponsors|organi[sz]es|conducts|regulates|oversees|"
            r"approves|licen[cs]es|inspects|checks|monitors|controls)\b",
            re.I,
        ),
        # a named body or person, or the kind of people and bodies that run and check things
        re.compile(
            r"\b(?:researchers?|scientists?|doctors?|experts?|investigators?|teams?|"
            r"universit(?:y|ies)|hospitals?|institutes?|companies|company|sponsors?|"
            r"governments?|agenc(?:y|ies)|regulators?|authorit(?:y|ies)|officials?|"
            r"committees?|boards?|councils?|commissions?|physicians?|nurses?|"
            r"FDA|NIH|EMA|NHS|MHRA)\b|(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+\s+(?:University|"
            r"Institute|Hospital|Health|Foundation|Board|Committee|Council|Agency|"
            r"Administration|Commission)\b"
        ),
    ),
    "joining": (
        # how or where to get onto a trial or treatment, not "should I join a trial?" (a choice
        # the sources speak to), "can he join?" (who may) nor "how do they get the cells into
        # the lungs?"
        re.compile(
            r"\b(?:how|where)\s+(?:do|does|can|could|would|should|may|might|to)\b[^?.]{0,40}?"
            r"\b(?:sign(?:ing)?\s+up|apply|enrol+(?:ing)?|register|join|"
            r"get\s+(?:me|him|her|them|us|(?:my|our)\s+\w+)\s+(?:on|onto|into|in)\b|"
            r"get\s+(?:on|onto|into|in)\s+(?:(?:it|one|that|this|the|a|an)\s+)?(?:[\w']+\s+){0,2}?"
            r"(?:trials?|stud(?:y|ies)|programm?e?s?)\b)",
            re.I,
        ),
        # whom to contact or where to apply
        re.compile(
            r"\b(?:contact\w*|call|phone|e-?mail\w*|website|web\s+site|apply|applications?|"
            r"enrol\w*|sign\s+up|register\w*|refer\w*|eligib\w*|recruit\w*)\b|"
            r"clinicaltrials\.gov",
            re.I,
        ),
    ),
    "pain": (
        # whether something hurts ("does it hurt?", "is the injection painful", "how sore will
        # I be"), not whether it harms ("can stem cells hurt me?", "hurt people")
        re.compile(
            r"\bhurts?\b(?!\s+(?:me|you|him|her|them|us|people|patients|anyone|someone|"
            r"anybody|somebody|my|your|his|their|our|the)\b)|\b(?:painful|sore)\b|"
            r"\bhow\s+much\s+pain\b|\b(?:any|much|a\s+lot\s+of)\s+pain\b",
            re.I,
        ),
        re.compile(
            r"\b(?:pain\w*|hurts?|hurting|sore\w*|discomfort|aches?|aching|anaesthe\w*|"
            r"anesthe\w*|numb\w*|sedat\w*)\b",
            re.I,
        ),
    ),
    "sex": (
        # "were they mostly men or women?", "what was the gender split"
        re.compile(
            r"\b(?:(?:men|males?)\s+or\s+(?:women|females?)|(?:women|females?)\s+or\s+"
            r"(?:men|males?)|gender|sex\s+(?:ratio|split|breakdown|of\s+the))\b",
            re.I,
        ),
        re.compile(r"\b(?:men|women|males?|females?|gender|sex|boys|girls)\b", re.I),
    ),
    "animal": (
        re.compile(r"\b(?:which|what)\s+(?:kinds?\s+of\s+)?animals?\b", re.I),
        re.compile(
            r"\b(?:mice|mouse|rats?|rodents?|monkeys?|primates?|macaques?|pigs?|swine|dogs?|"
            r"sheep|rabbits?|zebrafish|cats?|horses?|cattle|cows?)\b",
            re.I,
        ),
    ),
    "money": (
        # what it costs and who pays, not "is a trial safer than paying a clinic?"; "how much
        # is it?", "how much are we talking", "will it set me back", not "how much does it hurt?"
        re.compile(
            rf"\b{_PRICES}\b|\bhow\s+much\b.*\b(?:pay|charge)\b|"
            r"\b(?:pays?|paid|paying)\s+for\b|\bhow\s+much\s+(?:is|was|'s)\s+(?:it|this|that|"
            r"one)\b|\bhow\s+much\s+(?:would|will)\s+(?:it|this|that)\s+be\b|"
            r"\bhow\s+much\s+are\s+we\s+talking\b|\bset\s+(?:me|us|you|him|her|them)\s+back\b|"
            # ... and a public payer ("is it available on the NHS?", "does Medicare cover it")
            # or paying privately
            r"\b(?:on|through|via|from|by)\s+(?:the\s+)?(?:nhs|medicare|medicaid)\b|"
            r"\b(?:nhs|medicare|medicaid)\s+(?:offers?|funds?|covers?|pays?|provides?)\b|"
            r"\bdo(?:es)?\s+(?:the\s+)?(?:nhs|medicare|medicaid)\b|\bpay\s+privately\b|"
            r"\bgo\s+private\b|\b(?:have|need)\s+to\s+pay\b",
            re.I,
        ),
        # not "money" alone: "adds money and health dangers" gives no price and no payer
        re.compile(
            r"[$€£]|\b(?:cost|costs|price|prices|pay|paid|payment|afford|expensive|cheap|"
            r"fees?|insurance|insurer|charge|charges|dollars?|euros?|pounds?|funding|funded|"
            r"nhs|medicare|medicaid|privately)\b",
            re.I,
        ),
    ),
}
# Tried in this order: "how old" asks for an age, "how many years" for a duration, "how many
# times" for a frequency, before any of them reads as a count.
_ORDER = (
    "age",
    "duration",
    "frequency",
    "share",
    "count",
    "dose",
    "time",
    "expansion",
    "place",
    "agent",
    "joining",
    "pain",
    "sex",
    "animal",
    "money",
)


# Where a question goes on to ask another, with or without a comma (`question_units` splits
# only sentences that open like a question or end in "?")
_ANOTHER = re.compile(
    r"\s+(?:and|also|but|plus|or)\s+(?=(?:how|what|whats|when|where|why|which|who|is|are|"
    r"can|could|do|does|did|will|would|should)\b)",
    re.I,
)


def kind_of(unit: str) -> str | None:
    """The kind of detail one question asks for, or None ("is it safe?", "what is GMP?")."""
    text = unit.strip()
    return next((k for k in _ORDER if _KINDS[k][0].search(text)), None)


def expected(question: str) -> frozenset[str]:
    """The kinds of detail a message asks for, when every question in it asks for one
    ("how long is recovery? and how much does it cost?"); empty when any question asks for
    something else ("is it safe, and how long does it take?": a sentence on safety answers
    part of it)."""
    asked = asked_part(question)
    parts = _parts([u for u in question_units(asked) if asks(u)] or [asked])
    kinds = [kind_of(p) for p in parts]
    asked_kinds = frozenset(k for k in kinds if k is not None)
    # "what animals did they test it on? mice? monkeys?": the short parts after it offer
    # answers to choose from, they ask nothing else
    kinds = [k for k, p in zip(kinds, parts, strict=True) if k or not _offered(p, asked_kinds)]
    if not kinds or any(k is None for k in kinds):
        return frozenset()
    return asked_kinds


def only_offered(text: str, kinds: frozenset[str]) -> bool:
    """Is every part of `text` an answer offered to choose from for these kinds ("a few
    years?" for a duration)?"""
    parts = _parts(question_units(text))
    return bool(parts) and all(_offered(p, kinds) for p in parts)


def _parts(units: list[str]) -> list[str]:
    """The questions of these units, split again where one goes on to ask another: "whats
    the risk with traveling and how long would i need to stay" asks twice."""
    parts = [p for u in units for p in _ANOTHER.split(u)]
    # a part that asks for no detail and has no word that can carry a subject ("ok" in "ok
    # and how do i sign up") asks nothing of its own
    return [p for p in parts if kind_of(p) or any(content_word(w) for w in words(p))]


def _offered(part: str, kinds: frozenset[str]) -> bool:
    """A few words that do not open like a question and hold a detail of a kind asked
    beside them: an answer offered to choose from ("mice?", "or monkeys?")."""
    return (
        len(part.split()) <= _OFFER_WORDS
        and not opens_like_a_question(re.sub(r"^\W*(?:or|like)\s+", "", part, flags=re.I))
        and bool(kinds)
        and gives(kinds, part)
    )


# an offered answer is a word or a few ("mice? monkeys?", "like a few weeks?"); longer parts
# are read as questions. Chosen, not fitted.
_OFFER_WORDS = 4


def asking_spans(kinds: frozenset[str], question: str) -> list[tuple[int, int]]:
    """Where the question names the kind of detail it asks for ("cost", "age limit", "how
    long", "which hospital"): within what asks for it, the words `_NAMING` holds for its kind
    ("how much are we talking" names nothing the sources could lack, nor "running" in "who is
    running it?"), else all of it."""
    spans = []
    for kind in sorted(kinds):
        naming = _NAMING.get(kind)
        for match in _KINDS[kind][0].finditer(question):
            if naming is None:
                spans.append(match.span())
            else:
                spans += [m.span() for m in naming.finditer(question, *match.span())]
    return spans


# matches nowhere: a kind asked only with words that name nothing the sources could lack
_NOTHING = re.compile(r"(?!)")
# The words that name a kind of detail where its question asks with other words too; none for
# who runs or checks something ("running", "behind"), how to join ("sign up") or men or women.
_NAMING = {
    "money": re.compile(
        rf"\b{_PRICES}\b|\b(?:pays?|paid|paying|charge|nhs|medicare|medicaid|privately)\b",
        re.I,
    ),
    "place": re.compile(rf"\b{_PLACES}\b", re.I),
    "agent": _NOTHING,
    "joining": _NOTHING,
    "sex": _NOTHING,
}


def gives(kinds: frozenset[str], sentence: str, question: str = "") -> bool:
    """Does the sentence hold a detail of any of these kinds (always, for no kinds)? A count
    must count what `question` asks to count, when it names that ("how many stem cells do
    they inject" is not answered by "Across 26 studies ...")."""
    return not kinds or any(
        _KINDS[k][1].search(sentence) and (k != "count" or counts_asked(sentence, question))
        for k in kinds
    )


# Words for people counted ("how many people", "how many patients"), singular (`_singular`);
# chosen, not fitted.
_COUNTED_PEOPLE = frozenset(
    {
        *("people", "person", "ppl", "patient", "participant", "volunteer", "subject"),
        *("individual", "adult", "child", "children", "kid", "man", "men", "woman", "women"),
        "case",
    }
)
# ... and words for studies: "how many trials" is answered by "Across 26 studies".
_COUNTED_STUDIES = frozenset({"study", "trial", "research", "experiment"})
_HOW_MANY = re.compile(r"\bhow\s+(?:many|much)\s+([^.?!]*)", re.I)
_NUMBER_THEN = re.compile(rf"\b{_COUNT}\b((?:\W+[^\W\d_]+){{1,3}})", re.I)


def _singular(word: str) -> str:
    word = word.lower()
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"  # studies
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]  # cells, patients
    return word


def _counted(question: str) -> frozenset[str]:
    """What a "how many" question counts, as singular words ("how many stem cells do they
    inject": stem, cell; from each "how many" or "how much" of a message); nothing when it
    names nothing ("how many of them")."""
    named: set[str] = set()
    for match in _HOW_MANY.finditer(question):
        for word in words(match.group(1))[:3]:
            if not content_word(word.lower()):
                break
            named.add(_singular(word))
    return frozenset(named)


def counts_asked(sentence: str, question: str) -> bool:
    """Does a number in `sentence` count what `question` asks to count (a word of it among
    the three words after the number)? True when the question names nothing to count, or
    counts people: how many people have a condition is said in many ways ("1 in 20,000
    newborns", "about 100 families", "rare").
    """
    asked = _counted(question)
    if not asked or asked & _COUNTED_PEOPLE:
        return True
    if asked & _COUNTED_STUDIES:
        asked |= _COUNTED_STUDIES
    return any(
        asked & {_singular(w) for w in words(match.group(1))}
        for match in _NUMBER_THEN.finditer(sentence)
    )
