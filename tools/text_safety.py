"""Text that is safe to print on one line of a terminal or log."""

from __future__ import annotations


def printable(text: str) -> str:
    """``text`` safe for one line of a terminal or log: newlines, tabs and other control characters (a file
    may be named "a\\nb.md") are written as escapes, so a progress line can never be split or forged; every
    printable character, Chinese included, is kept as it is."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
