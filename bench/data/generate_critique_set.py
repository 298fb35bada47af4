"""Generate the raw samples of the labelled critique set with the embedded models (run once; CPU-heavy).

Every sample the generator wrote is kept (nothing is reviewed or filtered here), with the chunk text, its
offsets in the document, the generator's raw evidence quote and the evidence located by code. The hand
labels are added afterwards (see README.md in this folder); this script only records what the models wrote.

Run:  python bench/data/generate_critique_set.py --model qwen2.5-coder-1.5b --chunks 26 --out raw-1.5b.jsonl
      (a later round: add --exclude-set bench/data/critique_set.jsonl --checkable, so it writes on new chunks
      that state a definition or a number, the kind a correct pair can be checked against)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from ftds.tools.build.steps import select_chunks  # noqa: E402
from ftds.tools.config import load_settings  # noqa: E402
from ftds.tools.generation.generate import generate_qa  # noqa: E402
from ftds.tools.ingest import load_literature  # noqa: E402
from ftds.tools.llm import make_chat_model  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus"  # ../shared/corpus beside the repository
HELD_HERE = REPO / "bench" / "data" / "documents"  # documents the corpus lacks, kept in the repository (MANIFEST.tsv)
DOCUMENTS = [
    "law_zh/公司法(2023-12-29).md",
    "law_zh/劳动合同法(2012-12-28).md",
    "law_zh/民法典_合同编.md",
    "law_zh/民法典_总则.md",
    "law_zh/消费者权益保护法(2013-10-25).md",
    "law_zh/个人信息保护法(2021-08-20).md",
    "law_zh/数据安全法(2021-06-10).md",
    "law_zh/刑法.md",
    "law_en/US_Constitution.md",
    "law_en/github-terms-of-service.md",
    "docs/doj_chapter13_trustee_handbook.docx",  # round 8: English beyond the two law_en documents
    # round 18: statutes no earlier round saw (the corpus's Chinese chunks were all used by round 17)
    "law_zh/民法典_物权编.md",
    "law_zh/著作权法(2020-11-11).md",
    "law_zh/保险法(2015-04-24).md",
    "law_zh/行政处罚法(2021-01-22).md",
    # round 19: four more
    "law_zh/民法典_侵权责任编.md",
    "law_zh/劳动法(2018-12-29).md",
    "law_zh/网络安全法(2016-11-07).md",
    "law_zh/专利法(2020-10-17).md",
    # round 20: four more
    "law_zh/民法典_婚姻家庭编.md",
    "law_zh/民法典_人格权编.md",
    "law_zh/商标法(2019-04-23).md",
    "law_zh/电子商务法(2018-08-31).md",
    # round 21: four more
    "law_zh/社会保险法(2018-12-29).md",
    "law_zh/合伙企业法(2006-08-27).md",
    "law_zh/行政许可法(2019-04-23).md",
    "law_zh/信托法(2001-04-28).md",
]


def locate(document: str, corpus: Path) -> Path:
    """A document kept in the repository (bench/data/documents) wins; the others are read from ``corpus``."""
    here = HELD_HERE / document
    return here if here.is_file() else corpus / document


# A definition ("X是指", "本法所称X", "X means") or a number / period: a chunk a correct pair can be checked on.
CHECKABLE = re.compile(
    r"是指|所称|称为|[零〇一二三四五六七八九十百千万两\d]+(?:日|个月|年|周岁|倍|元|万元|％|%)|\bmeans\b|\b\w+\s+(?:days|years)\b",
    re.IGNORECASE,
)


def already_in(set_path: Path) -> set[tuple[str, int]]:
    """(document, chunk start) of every chunk of the labelled set, so a new round writes on new chunks only."""
    rows = [json.loads(line) for line in set_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {(row["source"], row["char_start"]) for row in rows}


def first_copy_end(text: str) -> int:
    """Where a document that repeats itself whole starts over (its length when it does not)."""
    again = text.find(text[:200], 1)
    return again if again > 0 else len(text)


class RecordingModel:
    """Passes calls through and keeps each raw reply, so the generator's own quote is kept verbatim."""

    def __init__(self, inner):  # type: ignore[no-untyped-def]
        self.inner = inner
        self.replies: list[str] = []

    @property
    def label(self) -> str:
        return str(self.inner.label)

    async def complete(self, messages, **kwargs):  # type: ignore[no-untyped-def]
        result = await self.inner.complete(messages, **kwargs)
        self.replies.append(result.text)
        return result


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--chunks", type=int, default=26)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--questions", type=int, default=3, help="Questions per chunk (one call per chunk).")
    parser.add_argument("--only", default="", help="Use only the documents whose path contains one of these (a,b).")
    parser.add_argument("--max-chars", type=int, default=700, help="Chunk size: short chunks keep prompts cheap.")
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads (1 is faster on a busy machine).")
    parser.add_argument("--exclude-set", type=Path, help="Skip the chunks this labelled set already holds.")
    parser.add_argument("--checkable", action="store_true", help="Only chunks stating a definition or a number.")
    args = parser.parse_args()
    settings = load_settings(
        llm={"backend": "embedded", "model": args.model, "n_threads": args.threads, "cache": False},
        build={"questions_per_chunk": args.questions, "domain": "law"},
        chunking={"max_chars": args.max_chars},
    )
    wanted = args.only.split(",")
    documents = [locate(d, args.corpus) for d in DOCUMENTS if any(part in d for part in wanted)]
    missing = [str(d) for d in documents if not d.is_file()]
    if not documents or missing:
        sys.exit(f"no documents to generate from (missing: {', '.join(missing) or 'none match --only'}); give --corpus")
    literature = load_literature(documents, settings.chunking, domain="law")
    texts = {doc.doc_id: doc for doc in literature.documents}
    candidates = literature.chunks
    if args.exclude_set:
        seen = already_in(args.exclude_set)
        candidates = [c for c in candidates if (c.provenance.source, c.provenance.char_start) not in seen]
    if args.checkable:
        candidates = [c for c in candidates if CHECKABLE.search(c.text)]
    # the DOJ handbook holds its text four times over: only chunks of a document's first copy
    copy_ends = {doc_id: first_copy_end(doc.text) for doc_id, doc in texts.items()}
    candidates = [c for c in candidates if c.provenance.char_end <= copy_ends[c.doc_id]]
    chunks = select_chunks(candidates, args.chunks, min_chars=200)
    llm = RecordingModel(make_chat_model(settings.llm, Path(tempfile.gettempdir()) / "ftds-critique-cache"))
    done = set()
    if args.out.exists():
        done = {json.loads(line)["chunk_id"] for line in args.out.read_text(encoding="utf-8").splitlines()}
    with args.out.open("a", encoding="utf-8") as out:
        for number, chunk in enumerate(chunks, 1):
            if chunk.chunk_id in done:
                continue
            llm.replies.clear()
            started = time.perf_counter()
            result = await generate_qa(chunk, llm, settings.build)  # type: ignore[arg-type]
            seconds = round(time.perf_counter() - started, 1)
            quotes: list[str] = []
            for reply in reversed(llm.replies):
                try:
                    quotes = [p.get("evidence", "") for p in json.loads(reply)["pairs"]]
                    break
                except (ValueError, KeyError, TypeError, AttributeError):
                    continue
            row = {
                "chunk_id": chunk.chunk_id,
                "source": chunk.provenance.source,
                "document": texts[chunk.doc_id].source,
                "char_start": chunk.provenance.char_start,
                "char_end": chunk.provenance.char_end,
                "heading_path": chunk.provenance.heading_path,
                "chunk": chunk.text,
                "model": args.model,
                "seconds": seconds,
                "usage": result.usage.model_dump(),
                "failure": result.failure.model_dump() if result.failure else None,
                "raw_replies": llm.replies[:],
                "samples": [
                    {
                        "question": s.question,
                        "answer": s.answer,
                        "prompt_version": s.prompt_version,
                        "generator_quote": quotes[i] if i < len(quotes) else "",
                        "evidence": [e.model_dump() for e in s.evidence],
                    }
                    for i, s in enumerate(result.samples)
                ],
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()
            done_line = f"[{number}/{len(chunks)}] {chunk.provenance.source} {len(result.samples)} samples {seconds}s"
            print(done_line, flush=True)


if __name__ == "__main__":
    asyncio.run(main())
