"""A generated corpus of hostile inputs for the CLI suite (no file is checked in: each test builds it afresh).

What a careless user or an attacker hands ftds: garbage bytes under every supported suffix, truncated and
encrypted documents, zip bombs, deeply nested JSON and folders, text in every encoding the readers claim,
file names with spaces, newlines and bytes that are not UTF-8, symbolic links into and out of the input,
link loops, broken links, FIFOs and empty files. ``build_literature`` makes the folder ``ingest``/``build``
read; ``build_datasets`` makes the files the dataset verbs read.
"""

from __future__ import annotations

import io
import json
import os
import random
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ftds.tools.ingest.registry import READERS

GOOD_TEXT = (
    "# Data handling rules\n\n"
    "Article 1. A data handler shall keep a record of each processing activity it performs.\n\n"
    "Article 2. Records are kept for three years and shown to the regulator on request.\n\n"
    "Article 3. A person may ask which of their data is held and have errors corrected.\n"
)
ENCODINGS = {  # codec -> text the reader must get back (each language in a codec that can write it)
    "utf-8": "Ein Datenverarbeiter führt ein Verzeichnis aller Tätigkeiten. 数据处理者应当记录处理活动。",
    "utf-8-sig": "Le responsable tient un registre de chaque activité de traitement, déjà exigé.",
    "utf-16": "数据处理者应当建立健全全流程数据安全管理制度，组织开展数据安全教育培训。",
    "gb18030": "数据处理者应当建立健全全流程数据安全管理制度，组织开展数据安全教育培训。",
    "big5": "資料處理者應當建立健全全流程資料安全管理制度，組織開展資料安全教育訓練。",
    "shift_jis": "個人情報取扱事業者は、個人情報の利用目的をできる限り特定しなければならない。",
    "cp1251": "Оператор обязан вести учет всех действий по обработке персональных данных граждан.",
    "cp1252": "Le responsable du traitement tient un registre très précis; déjà vu à l'été.",
    "latin-1": "El responsable del tratamiento llevará un registro según la ley española.",
}


@dataclass
class HostileTree:
    docs: Path  # the input folder
    outside: Path  # files the input links out to
    readable: set[str] = field(default_factory=set)  # sources that must load (relative to docs)
    expected: set[str] = field(default_factory=set)  # every source the report must list


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _minimal_docx(text: str) -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _encrypted_pdf() -> bytes:
    import pypdf

    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt("secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _write(tree: HostileTree, relative: str | bytes, data: bytes, readable: bool = False) -> None:
    path = Path(
        os.fsdecode(os.fsencode(tree.docs) + b"/" + (relative if isinstance(relative, bytes) else relative.encode()))
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    source = (
        path.relative_to(tree.docs).as_posix().encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    )
    tree.expected.add(source)
    if readable:
        tree.readable.add(source)


def build_literature(root: Path, seed: int = 13) -> HostileTree:
    """The hostile input folder for ``ingest`` and ``build``; returns what the report must account for."""
    rng = random.Random(seed)
    tree = HostileTree(docs=root / "docs", outside=root / "outside")
    tree.outside.mkdir(parents=True)
    (tree.outside / "secret.md").write_text("outside the input\n", encoding="utf-8")
    _write(tree, "good.md", GOOD_TEXT.encode(), readable=True)
    for suffix in sorted(READERS):  # garbage bytes under every supported suffix
        _write(tree, f"garbage/noise{suffix}", bytes(rng.randrange(256) for _ in range(3000)))
    docx = _minimal_docx(GOOD_TEXT)
    _write(tree, "truncated/cut.docx", docx[: len(docx) // 2])
    _write(tree, "truncated/cut.xlsx", docx[: len(docx) // 3])
    _write(tree, "truncated/cut.epub", _zip({"mimetype": b"application/epub+zip"})[:40])
    pdf = _encrypted_pdf()
    _write(tree, "truncated/cut.pdf", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
    _write(tree, "encrypted/locked.pdf", pdf)
    _write(tree, "encrypted/locked.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000))  # OLE2 = encrypted Office
    bomb = _zip({"word/document.xml": b"\0" * (24 * 1024 * 1024), "[Content_Types].xml": b"<Types/>"})
    _write(tree, "bombs/bomb.docx", bomb)
    _write(tree, "bombs/bomb.xlsx", bomb)
    _write(tree, "nesting/deep.json", b"[" * 200_000 + b"]" * 200_000)
    _write(tree, "nesting/deep.jsonl", b'{"text": "fine line"}\n' + b"[" * 100_000 + b"]" * 100_000 + b"\n", True)
    deep = "/".join(f"d{i}" for i in range(60))
    _write(tree, f"nesting/{deep}/bottom.md", GOOD_TEXT.encode(), readable=True)
    for codec, text in ENCODINGS.items():
        _write(tree, f"encodings/{codec}.txt", f"{text}\n\n{text}\n".encode(codec), readable=True)
    _write(tree, "names/with spaces.md", GOOD_TEXT.encode(), readable=True)
    _write(tree, "names/new\nline.md", GOOD_TEXT.encode(), readable=True)
    _write(tree, b"names/caf\xe9-latin1-name.md", GOOD_TEXT.encode(), readable=True)
    _write(tree, "names/-starts-with-dash.md", GOOD_TEXT.encode(), readable=True)
    _write(tree, "empty.md", b"")
    _write(tree, "only-script.html", b"<html><body><script>alert(1)</script></body></html>")
    _write(tree, "bad-quotes.csv", b'text,other\n"unclosed,1\n2,3\n')
    _write(tree, "unsupported.bin", bytes(range(256)))
    links = tree.docs / "links"
    links.mkdir()
    (links / "inside.md").symlink_to(tree.docs / "good.md")  # a link within the input: read
    (links / "outside.md").symlink_to(tree.outside / "secret.md")  # a link out of the input
    (links / "folder").symlink_to(tree.outside, target_is_directory=True)
    (links / "loop.md").symlink_to(links / "loop.md")
    (links / "broken.md").symlink_to(tree.docs / "nowhere.md")
    (links / "cycle").symlink_to(tree.docs, target_is_directory=True)  # a folder link back up: a walk loop
    os.mkfifo(tree.docs / "pipe.txt")
    (tree.docs / ".hidden").mkdir()
    (tree.docs / ".hidden" / "x.md").write_text(GOOD_TEXT, encoding="utf-8")
    tree.readable |= {"links/inside.md", "links/outside.md"}
    tree.expected |= {"links/inside.md", "links/outside.md", "links/folder", "links/loop.md", "links/broken.md"}
    tree.expected |= {"links/cycle", "pipe.txt", ".hidden"}
    return tree


def build_datasets(root: Path, seed: int = 17) -> dict[str, Path]:
    """Hostile dataset files for convert/validate/dedupe/split/export, by what is wrong with each."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    good = [{"instruction": f"What does article {i} require?", "output": f"Article {i} requires records."}
            for i in range(8)]  # fmt: skip
    files: dict[str, bytes] = {
        "garbage.jsonl": bytes(rng.randrange(256) for _ in range(2000)),
        "garbage.json": bytes(rng.randrange(256) for _ in range(2000)),
        "garbage.csv": bytes(rng.randrange(256) for _ in range(2000)),
        "garbage.parquet": bytes(rng.randrange(256) for _ in range(2000)),
        "truncated.parquet": b"PAR1" + bytes(100),
        "empty.jsonl": b"",
        "deep.json": b"[" * 200_000 + b"]" * 200_000,
        "deep-line.jsonl": b"\n".join([json.dumps(good[0]).encode(), b"[" * 100_000 + b"]" * 100_000]) + b"\n",
        "scalar.json": b"42",
        "scalars.jsonl": b'1\n2\n"three"\n',
        "mixed.jsonl": b"\n".join(json.dumps(r).encode() for r in good[:4])
        + b"\n{broken\n"
        + b"\n".join(json.dumps(r).encode() for r in good[4:])
        + b"\n",
        "utf16.json": json.dumps(good, ensure_ascii=False).encode("utf-16"),
        "gb18030.jsonl": "\n".join(
            json.dumps({**r, "output": r["output"] + "。数据"}, ensure_ascii=False) for r in good
        ).encode("gb18030"),
        "wrong-shape.jsonl": b'{"a": 1}\n{"b": [1, 2]}\n',
        "name with\nnewline.jsonl": b"\n".join(json.dumps(r).encode() for r in good) + b"\n",
    }
    paths = {}
    for name, data in files.items():
        (root / name).write_bytes(data)
        paths[name] = root / name
    (root / "folder").mkdir()
    (root / "folder" / "inside.jsonl").write_bytes(files["mixed.jsonl"])
    paths["folder"] = root / "folder"
    os.mkfifo(root / "pipe.jsonl")
    paths["pipe.jsonl"] = root / "pipe.jsonl"
    (root / "loop.jsonl").symlink_to(root / "loop.jsonl")
    paths["loop.jsonl"] = root / "loop.jsonl"
    paths["missing.jsonl"] = root / "missing.jsonl"
    return paths
