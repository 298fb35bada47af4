"""Decode a text file's bytes, and say how sure the decoding is: the one decoder every text reader uses.

UTF-8 (with or without a BOM) and UTF-16 with a BOM are certain. A charset the file declares itself (an HTML
``<meta charset>``, an XML declaration) is used next. Anything else is a guess, and the file's report says so.

Why not charset-normalizer alone: on Western European text in a legacy code page it often prefers a Central or
Baltic European one, because every byte decodes to *some* letter in all of them ("très" in Windows-1252 reads
"trčs" as Windows-1250, "déjà" reads "déją"). For mostly-ASCII text in a Latin-script single-byte code page,
ftds therefore decodes with each candidate code page and keeps the one whose accented letters all belong to one
language's alphabet (French è/à/ê together, Czech č/ř/ě together), preferring Windows-1252 on a tie — the
most common legacy encoding, and what browsers use for "ISO-8859-1". Other scripts (CJK, Cyrillic, Greek ...)
are mostly non-ASCII bytes and go to charset-normalizer, which detects them well.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ftds.tools.ingest.base import LoadError

# Latin-script single-byte code pages, in order of preference on a tie (the first is the most common).
LATIN_CODEPAGES = ("cp1252", "cp1250", "cp1257", "cp1254", "iso8859_16")
_NAMES = {
    "cp1252": "Windows-1252 (Western European)",
    "cp1250": "Windows-1250 (Central European)",
    "cp1257": "Windows-1257 (Baltic)",
    "cp1254": "Windows-1254 (Turkish)",
    "iso8859_16": "ISO-8859-16 (South-Eastern European)",
}
# The accented letters of each language written in those code pages (lower case).
_ALPHABETS = {
    "French": "àâæçéèêëîïôœùûüÿ",
    "German": "äöüß",
    "Spanish": "áéíñóúü",
    "Portuguese": "áâãàçéêíóôõú",
    "Italian": "àèéìíîòóù",
    "Catalan": "àçèéíïòóúü",
    "Dutch": "éëïóöü",
    "Swedish/Finnish": "åäöé",
    "Danish/Norwegian": "æøåé",
    "Icelandic": "áéíóúýþðæö",
    "Czech": "áčďéěíňóřšťúůýž",
    "Slovak": "áäčďéíĺľňóôŕšťúýž",
    "Polish": "ąćęłńóśźż",
    "Hungarian": "áéíóöőúüű",
    "Romanian": "ăâîșțşţ",
    "Croatian/Slovene": "čćđšž",
    "Lithuanian": "ąčęėįšųūž",
    "Latvian": "āčēģīķļņšūž",
    "Estonian": "äöõüšž",
    "Turkish": "çğıöşüi̇",
}
_DECLARED = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)|<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9._:-]+)""",
    re.IGNORECASE,
)
# WHATWG: pages labelled Latin-1 / ASCII are decoded as Windows-1252 by every browser; so do we.
_LABEL_ALIASES = {"iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252"}
_LABEL_ALIASES |= {"us-ascii": "cp1252", "ascii": "cp1252"}


@dataclass(frozen=True)
class Decoded:
    """Text plus the encoding used; ``note`` is set when the encoding was guessed (for the file's report)."""

    text: str
    encoding: str
    note: str = ""


def declared_charset(data: bytes) -> str | None:
    """The charset an HTML/XML document declares in its first 4 KB, as a Python codec name (or None)."""
    match = _DECLARED.search(data[:4096])
    if not match:
        return None
    label = (match.group(1) or match.group(2)).decode("ascii", "replace").strip().lower()
    label = _LABEL_ALIASES.get(label, label)
    import codecs

    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


_C1 = re.compile("[\u0080-\u009f]")


def _accented(text: str) -> list[str]:
    return [ch for ch in text.lower() if ord(ch) > 127 and ch.isalpha()]


def _language_fit(text: str) -> tuple[float, str]:
    """(share of the accented letters that one language's alphabet explains, that language)."""
    accented = _accented(text)
    if not accented:
        return 1.0, ""
    best, language = 0.0, ""
    for name, alphabet in _ALPHABETS.items():
        share = sum(ch in alphabet for ch in accented) / len(accented)
        if share > best:
            best, language = share, name
    return best, language


def _looks_latin(text: str) -> bool:
    """Mostly ASCII, accented letters standing alone inside words (not runs of 3+, as misread CJK gives)."""
    if not text:
        return False
    high = [i for i, ch in enumerate(text) if ord(ch) > 127]
    if len(high) > (0.3 if len(text) >= 40 else 0.5) * len(text):  # a short word may be half accents
        return False
    runs = sum(1 for i in high if i + 2 < len(text) and ord(text[i + 1]) > 127 and ord(text[i + 2]) > 127)
    return runs <= 0.1 * max(len(high), 1)


def _latin_guess(data: bytes) -> tuple[str, str, float, bool] | None:
    """(text, codec, fit, tied) for the Latin code page whose accented letters fit one language best."""
    scored: list[tuple[float, int, str, str]] = []
    for rank, codec in enumerate(LATIN_CODEPAGES):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if not _looks_latin(text):
            return None  # not Latin-script text at all: leave it to the detector
        if _C1.search(text):
            continue  # C1 control characters: this code page leaves those bytes unassigned
        fit, _ = _language_fit(text)
        scored.append((fit, -rank, codec, text))
    if not scored:
        return None
    scored.sort(reverse=True)
    fit, _, codec, text = scored[0]
    letters = _accented(text)
    tied = any(other[0] == fit and _accented(other[3]) != letters for other in scored[1:])
    return text, codec, fit, tied


def _mostly_utf8(data: bytes) -> Decoded | None:
    """UTF-8 with a few damaged bytes (a bad cut, one stray byte) stays UTF-8, the damage replaced and noted;
    read as a legacy code page instead, every good accented letter would turn into two ("Ã©")."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") - data.count("\ufffd".encode())
    multibyte = sum(1 for ch in text if ord(ch) > 127 and ch != "\ufffd")
    if bad <= 0 or multibyte < 2 * bad or bad > max(3, len(text) // 1000):
        return None
    note = f"{bad} byte(s) are not valid UTF-8 and were replaced with \ufffd; re-save the file as UTF-8"
    return Decoded(text, "utf-8", note)


def _control_check(text: str, path: Path) -> None:
    sample = text[:4096]
    controls = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f")
    if controls > 0.05 * len(sample):
        raise LoadError(f"{path.name}: looks like a binary file, not text (control characters); check its type")


def decode_document(data: bytes, path: Path, declared: str | None = None) -> Decoded:
    """Decode ``data`` (UTF-8/16, the declared charset, else a guess that the returned note admits)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        decoded = Decoded(data.decode("utf-16", errors="replace"), "utf-16")
    elif b"\x00" in data[:4096]:
        raise LoadError(f"{path.name}: looks like a binary file, not text (it contains NUL bytes); check its type")
    else:
        decoded = _decode_8bit(data, path, declared)
    _control_check(decoded.text, path)
    return decoded


def _decode_8bit(data: bytes, path: Path, declared: str | None) -> Decoded:
    try:
        return Decoded(data.decode("utf-8-sig"), "utf-8")
    except UnicodeDecodeError:
        pass
    if declared and declared not in ("utf-8", "utf_8"):
        try:
            return Decoded(data.decode(declared), declared)
        except (UnicodeDecodeError, LookupError):
            pass  # the declaration is wrong: guess as if there were none, and say so below
    lie = f"declares {declared} but is not; " if declared else ""
    damaged = _mostly_utf8(data)
    if damaged is not None:
        return damaged
    latin = _latin_guess(data)
    if latin is not None:
        text, codec, fit, tied = latin
        doubt = "uncertain: " if tied or fit < 1.0 else ""
        note = (
            f"{lie}not UTF-8: read as {_NAMES[codec]} ({doubt}guessed from the accented letters); "
            "if accents look wrong, save the file as UTF-8"
        )
        return Decoded(text, codec, note)
    import charset_normalizer  # lazily: only non-UTF-8, non-Latin files need it (~15 ms to import)

    matches = charset_normalizer.from_bytes(data)
    best = matches.best()
    if best is None:
        raise LoadError(f"{path.name}: not decodable as text in any common encoding; is it binary?")
    text = str(best)
    rivals = [m for m in matches if m is not best and m.chaos <= best.chaos + 0.05 and str(m) != text]
    doubt = "uncertain: " if rivals or not best.languages else ""
    note = f"{lie}not UTF-8: read as {best.encoding} ({doubt}detected); if the text looks wrong, save it as UTF-8"
    return Decoded(text, best.encoding, note)
