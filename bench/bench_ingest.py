"""Ingestion and chunking throughput, measured against the raw parser libraries on the same files.

    .venv/bin/python bench/bench_ingest.py [--corpus ../shared/corpus] [--repeat 3]

The figures in docs/benchmarks/ingest.md were measured on the larger corpus at ../shared/corpus (it is not part
of the repository). Without it, the script says so and measures the test corpus shipped in tests/data/corpus
(same layout, fewer documents), whose figures are not comparable file for file.

Part 1 times, per file, the raw parser alone (pypdf text extraction, python-docx paragraphs and tables,
trafilatura extraction, the EPUB chapters through markdownify, reading a Markdown file) against ftds'
whole per-file path (safety checks, reader, cleaning, page-furniture removal, provenance; and then with
chunking too). The ratio says what ftds adds on top of the parser. Part 2 times each chunking strategy on
the largest Chinese statute in the corpus (刑法.md). Best of --repeat runs; raw and ftds runs alternate,
so a burst of load on a shared machine hits both. Figures go to docs/benchmarks/ingest.md.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import pypdf
import trafilatura
from markdownify import markdownify

from ftds.tools.config import ChunkSettings
from ftds.tools.ingest import chunk_document
from ftds.tools.ingest.loaders import read_document

REPO = Path(__file__).resolve().parent.parent
LARGER_CORPUS = REPO.parent / "shared" / "corpus"  # optional, beside the repository
SHIPPED_CORPUS = REPO / "tests" / "data" / "corpus"


def raw_pdf(path: Path) -> int:
    reader = pypdf.PdfReader(io.BytesIO(path.read_bytes()))
    return sum(len(page.extract_text() or "") for page in reader.pages)


def raw_docx(path: Path) -> int:
    document = docx.Document(io.BytesIO(path.read_bytes()))
    size = sum(len(p.text) for p in document.paragraphs)
    return size + sum(len(cell.text) for table in document.tables for row in table.rows for cell in row.cells)


def raw_html(path: Path) -> int:
    return len(trafilatura.extract(path.read_bytes(), output_format="markdown", include_tables=True) or "")


def raw_epub(path: Path) -> int:
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.endswith((".xhtml", ".html", ".htm"))]
        return sum(len(markdownify(archive.read(n).decode("utf-8", "replace"))) for n in names)


def raw_text(path: Path) -> int:
    return len(path.read_text(encoding="utf-8"))


RAW: dict[str, tuple[str, Callable[[Path], int]]] = {
    ".pdf": ("pypdf", raw_pdf),
    ".docx": ("python-docx", raw_docx),
    ".html": ("trafilatura", raw_html),
    ".epub": ("zipfile+markdownify", raw_epub),
    ".md": ("read_text", raw_text),
}


def paired(first: Callable[[], object], second: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best times of two functions run alternately, so a burst of load on the shared machine hits both."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, bucket in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - start)
    return min(times[0]), min(times[1])


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def pages_of(path: Path) -> int | None:
    return len(pypdf.PdfReader(path).pages) if path.suffix == ".pdf" else None


def ingestion(corpus: Path, repeat: int) -> None:
    files = sorted(p for p in (corpus / "docs").iterdir() if p.suffix in RAW)
    files.append(corpus / "law_zh" / "刑法.md")
    print("## Ingestion: ftds per-file path vs the raw parser alone\n")
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    columns = "file | parser | MB | pages | raw s | ftds read s | ftds read+chunk s | read/raw | MB/s | pages/s"
    print(f"| {columns} |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    ratios = []
    for path in files:
        parser, raw = RAW[path.suffix]
        mb = path.stat().st_size / 1e6
        raw_s, read_s = paired(lambda p=path, r=raw: r(p), lambda p=path: read_document(p, p.parent), repeat)
        document = read_document(path, path.parent)
        full_s = read_s + best(lambda d=document: chunk_document(d), repeat)
        pages = pages_of(path)
        ratios.append(read_s / raw_s)
        pages_rate = f"{pages / full_s:.1f}" if pages else "-"
        print(
            f"| {path.name} | {parser} | {mb:.2f} | {pages or '-'} | {raw_s:.3f} | {read_s:.3f} | {full_s:.3f} "
            f"| {read_s / raw_s:.2f}x | {mb / full_s:.2f} | {pages_rate} |"
        )
    print(f"\nmedian read/raw ratio: {statistics.median(ratios):.2f}x\n")


def chunking(corpus: Path, repeat: int) -> None:
    path = corpus / "law_zh" / "刑法.md"
    document = read_document(path, path.parent)
    mb = len(document.text.encode("utf-8")) / 1e6
    print(f"## Chunking {path.name}: {len(document.text):,} characters, {mb:.2f} MB UTF-8\n")
    print("| strategy | chunks | seconds | MB/s | characters/s |")
    print("|---|---|---|---|---|")
    strategies: list[tuple[str, ChunkSettings, object]] = [
        (name, ChunkSettings(strategy=name), None)  # type: ignore[arg-type]
        for name in ("legal", "heading", "recursive", "fixed")
    ]
    strategies.append(("legal + overlap 200", ChunkSettings(strategy="legal", overlap_chars=200), None))
    try:
        from ftds.tools.ingest.tokenizer import embedded_tokenizer

        tokenizer = embedded_tokenizer(ChunkSettings().tokenizer_model)
        strategies.append(("token (Qwen2.5 GGUF vocab)", ChunkSettings(strategy="token"), tokenizer))
    except ValueError as exc:
        print(f"(token strategy skipped: {exc})\n")
    for name, settings, tokenizer in strategies:
        seconds = best(lambda s=settings, t=tokenizer: chunk_document(document, s, "law", t), repeat)  # type: ignore[misc]
        count = len(chunk_document(document, settings, "law", tokenizer))  # type: ignore[arg-type]
        print(f"| {name} | {count} | {seconds:.3f} | {mb / seconds:.2f} | {len(document.text) / seconds:,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help=f"default: {LARGER_CORPUS} if present, else {SHIPPED_CORPUS}")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.corpus is None:
        args.corpus = LARGER_CORPUS if LARGER_CORPUS.is_dir() else SHIPPED_CORPUS
        if args.corpus == SHIPPED_CORPUS:
            print(
                f"note: the larger benchmark corpus is not at {LARGER_CORPUS}; measuring the test corpus in "
                f"{SHIPPED_CORPUS} instead (fewer documents, not comparable with docs/benchmarks/ingest.md)\n"
            )
    missing = [p for p in (args.corpus / "docs", args.corpus / "law_zh" / "刑法.md") if not p.exists()]
    if missing:
        names = ", ".join(map(str, missing))
        parser.error(f"{args.corpus} is not a benchmark corpus: {names} missing (it needs docs/ and law_zh/刑法.md)")
    ingestion(args.corpus, args.repeat)
    chunking(args.corpus, args.repeat)


if __name__ == "__main__":
    main()
