"""Where text may be cut: sentence ends in Chinese and English, and the coarser and finer separators.

A sentence ends at 。！？； (with any closing quote or bracket), or at . ! ? followed by space — except
where that full stop belongs to a decimal ("4.0" has no space), an abbreviation ("e.g.", "Art.", "U.S."),
an initial ("J. Smith"), or a list number at the start of a line ("1. The court ..."), or the next word
starts in lower case ("approx. five"). Cuts are offsets *after* the sentence and its trailing spaces, so a
chunk never starts with a space.
"""

from __future__ import annotations

import re

# Always abbreviations: a full stop after these never ends a sentence.
ABBREVIATIONS = frozenset(
    {
        *("mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "v", "etc", "e.g", "eg", "i.e", "ie"),
        *("cf", "al", "approx", "inc", "ltd", "corp", "dept", "govt", "esq", "ibid", "viz", "cit", "supp"),
        *("jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k"),
        *("u.n", "e.u", "ariz", "fla", "cir", "stat"),
    }
)
# Abbreviations only before a number ("No. 5", "Art. 3", "p. 12"), ordinary words otherwise ("said no.").
NUMBER_ABBREVIATIONS = frozenset(
    {"no", "nos", "art", "arts", "sec", "secs", "ch", "chap", "para", "paras", "fig", "figs", "p", "pp", "vol"}
)

_CJK_END = re.compile(r"[。！？；]+[”’」』）)\]]*[ \t]*")
_LATIN_END = re.compile(r"(?<=\S)[.!?]+[\"'”’)\]]*(?=[ \t\n]|$)")
_NEXT_WORD = re.compile(r"[ \t]*\n?[ \t]*(\S)")
PARAGRAPH = re.compile(r"\n[ \t]*\n+")
LINE = re.compile(r"\n")
CLAUSE = re.compile(r"[，、,：:][ \t]*")
SPACE = re.compile(r"[ \t]+")


def _latin_sentence_end(text: str, match: re.Match[str]) -> bool:
    if match.group().startswith(("!", "?")):
        return True
    line_start = text.rfind("\n", 0, match.start()) + 1
    word = re.search(r"[\w.]+$", text[line_start : match.start()])
    token = word.group().lower() if word else ""
    following = _NEXT_WORD.match(text, match.end())
    if token in ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
        return False
    if token in NUMBER_ABBREVIATIONS and following and following.group(1).isdigit():
        return False
    if re.fullmatch(r"\s*(?:\(?[0-9ivxlc]{1,4}|[a-z])", text[line_start : match.start()], re.IGNORECASE):
        return False  # "1." / "iv." / "a." opening a numbered item
    if re.search(r"\.[a-z]$", token):
        return False  # u.s.a-style dotted abbreviation
    return not (following and following.group(1).islower())


def sentence_cuts(text: str, start: int, end: int) -> list[int]:
    """Offsets in (start, end) right after a sentence end and its trailing spaces."""
    cuts: set[int] = set()
    for match in _CJK_END.finditer(text, start, end):
        cuts.add(match.end())
    for match in _LATIN_END.finditer(text, start, end):
        if _latin_sentence_end(text, match):
            stop = match.end()
            while stop < end and text[stop] in " \t":
                stop += 1
            cuts.add(stop)
    return sorted(c for c in cuts if start < c < end)


def separator_cuts(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[int]:
    """Offsets in (start, end) right after each match of a separator pattern."""
    return [m.end() for m in pattern.finditer(text, start, end) if start < m.end() < end]
