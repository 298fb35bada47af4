"""Issue 13 item 7: Latin-1 / Windows-1252 files decode correctly, and a guessed encoding is said in the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftds.tools.ingest import load_literature
from ftds.tools.ingest.encoding import decode_document
from tests.conftest import run_cli

FRENCH = "C'est très bien, déjà vu — « naïve ». Voilà une fenêtre où l'été arrive; le garçon à la crème brûlée."
GERMAN = "Größere Änderungen für Bürger: das Gesetz über die Verarbeitung gilt ab März."


def _write_western_files(folder: Path) -> dict[str, str]:
    """A cp1252 HTML page without a charset, a Latin-1 CSV and a cp1252 .txt, with the words each must keep."""
    folder.mkdir(parents=True, exist_ok=True)
    page = f"<html><head><title>Café</title></head><body><h1>Le café</h1><p>{FRENCH}</p></body></html>"
    (folder / "page.html").write_bytes(page.encode("cp1252"))
    latin1 = FRENCH.replace(",", "").replace("—", "-")  # Latin-1 has no em dash
    (folder / "table.csv").write_bytes(f"name,text\nNoël,{GERMAN}\nCafé,{latin1}\n".encode("latin-1"))
    (folder / "note.txt").write_bytes(f"{FRENCH}\n\n{GERMAN}\n".encode("cp1252"))
    return {"page.html": "très", "table.csv": "Größere", "note.txt": "fenêtre"}


def test_western_european_legacy_files_decode_without_mojibake_and_say_the_encoding_was_guessed(
    tmp_path: Path,
) -> None:
    expected = _write_western_files(tmp_path / "docs")
    result = load_literature([tmp_path / "docs"])
    by_source = {d.source: d.text for d in result.documents}
    for name, word in expected.items():
        assert word in by_source[name], (name, by_source[name][:200])
        assert "č" not in by_source[name] and "ŕ" not in by_source[name]  # the Windows-1250 misreading
    for report in result.files:
        assert report.status == "loaded"
        assert "not UTF-8" in report.reason and "Windows-1252" in report.reason, report.reason


def test_ingest_cli_reports_the_guessed_encoding_per_file(tmp_path: Path) -> None:
    _write_western_files(tmp_path / "docs")
    done = run_cli("ingest", "docs", "--out", "chunks.jsonl", "--json", cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    files = json.loads(done.stdout)["files"]
    assert all("save the file as UTF-8" in f["reason"] for f in files), files
    chunks = (tmp_path / "chunks.jsonl").read_text(encoding="utf-8")
    assert "très" in chunks and "trčs" not in chunks


@pytest.mark.parametrize(
    ("text", "codec", "name"),
    [
        ("Příliš žluťoučký kůň úpěl ďábelské ódy; zákon o ochraně osobních údajů.", "cp1250", "Windows-1250"),
        ("Árvíztűrő tükörfúrógép: a törvény célja a személyes adatok védelme.", "cp1250", "Windows-1250"),
        ("Lietuvos įstatymas dėl asmens duomenų apsaugos nustato tvarką ir sąlygas.", "cp1257", "Windows-1257"),
        ("Kişisel verilerin korunması kanunu, başta özel hayatın gizliliği olmak üzere.", "cp1254", "Windows-1254"),
        ("El niño comió piña el año pasado según el señor García.", "latin-1", "Windows-1252"),
    ],
)
def test_other_latin_code_pages_are_not_forced_into_windows_1252(text: str, codec: str, name: str) -> None:
    decoded = decode_document(text.encode(codec), Path("x.txt"))
    assert decoded.text == text
    assert name in decoded.note


def test_a_declared_html_charset_is_used_without_a_note_and_utf8_needs_none() -> None:
    from ftds.tools.ingest.encoding import declared_charset

    czech = "Příliš žluťoučký kůň úpěl ďábelské ódy."
    data = f'<html><head><meta charset="windows-1250"></head><body><p>{czech}</p></body></html>'.encode("cp1250")
    decoded = decode_document(data, Path("p.html"), declared=declared_charset(data))
    assert czech in decoded.text and decoded.note == ""
    latin1 = b'<?xml version="1.0" encoding="ISO-8859-1"?><p>' + "déjà".encode("latin-1") + b"</p>"
    assert declared_charset(latin1) == "cp1252"  # as browsers read Latin-1 labels
    plain = decode_document(FRENCH.encode("utf-8"), Path("u.txt"))
    assert plain.text == FRENCH and plain.note == ""


def test_cyrillic_and_chinese_still_go_to_the_detector() -> None:
    russian = "Закон о персональных данных регулирует отношения, связанные с обработкой данных."
    chinese = "中华人民共和国数据安全法。为了规范数据处理活动，保障数据安全，促进数据开发利用。"
    assert decode_document(russian.encode("cp1251"), Path("r.txt")).text == russian
    assert decode_document(chinese.encode("gb18030"), Path("z.txt")).text == chinese


def test_utf8_with_one_damaged_byte_stays_utf8_and_says_so() -> None:
    text = "Le responsable tient un registre très précis; déjà vu à l'été. " * 20
    data = text.encode("utf-8")
    damaged = data[:100] + b"\xc3" + data[100:]  # a lead byte with no continuation, as a bad cut leaves
    decoded = decode_document(damaged, Path("d.md"))
    assert decoded.encoding == "utf-8" and "très" in decoded.text and "Ã" not in decoded.text
    assert "not valid UTF-8" in decoded.note and "replaced" in decoded.note
