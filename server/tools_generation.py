"""MCP tools for generating and reviewing samples."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from ftds.server.limits import MAX_PAIRS, NameText, PairText, Passage, bounded_list
from ftds.server.models import CritiqueQAResult, GenerateQAResult
from ftds.server.state import ServerState, state_of, tool_annotations
from ftds.tools.config import ChunkSettings
from ftds.tools.records import Chunk, Document, content_hash


class PairInput(BaseModel):
    question: PairText = Field(description="The question (instruction) of the pair.")
    answer: PairText = Field(description="The answer (output) to critique.")


def _passage_chunk(text: str, source: str, domain: str) -> Chunk:
    from ftds.tools.ingest.chunking import chunk_document  # on first use, like the generation stack
    from ftds.tools.ingest.loaders import clean_text
    from ftds.tools.language import detect_language

    cleaned = clean_text(text)
    if not cleaned:
        raise ToolError("text is empty after cleaning; pass the source passage the pairs are about")
    document = Document(
        doc_id=content_hash(source, cleaned),
        source=source,
        text=cleaned,
        language=detect_language(cleaned),
        format="text",
    )
    return chunk_document(document, ChunkSettings(max_chars=max(len(cleaned), 50)), domain)[0]


def register(server: MCPServer[ServerState]) -> None:
    @server.tool(
        name="generate_qa",
        annotations=tool_annotations(
            "Generate reviewed Q&A from text",
            read_only=True,
            destructive=False,
            idempotent=False,
            open_world=False,
        ),
    )
    async def generate_qa(
        text: Annotated[Passage, Field(description="Source passage (a chunk) to write questions about.")],
        ctx: Context,
        domain: Annotated[NameText, Field(description="Domain preset: law, medicine, finance, general.")] = "law",
        source: Annotated[NameText, Field(description="Name of the source, recorded as provenance.")] = "inline",
        count: Annotated[
            int | None, Field(description="Questions to ask; default scales with length.", ge=1, le=20)
        ] = None,
    ) -> GenerateQAResult:
        """Generate grounded question-answer pairs from a passage and review each one against it; returns
        accepted samples with scores and provenance, and every rejection or failure with its reason."""
        from ftds.agents.chunk_flow import run_chunk  # the generation stack loads on first use
        from ftds.agents.context import BuildContext

        state = state_of(ctx)
        chunk = _passage_chunk(text, source, domain)
        settings = state.settings.model_copy(deep=True)
        settings.build.domain = domain
        if count is not None:
            settings.build.questions_per_chunk = count
        llm = await state.llm()
        await ctx.report_progress(0, 2, "generating")
        context = BuildContext(settings, llm, llm, out_dir=Path.cwd(), run_id="mcp-generate_qa")
        result = await run_chunk(chunk, context)
        await ctx.report_progress(2, 2, "reviewed")
        failures = [*result.failed, *([result.chunk_failure] if result.chunk_failure else [])]
        return GenerateQAResult(
            accepted=result.accepted,
            rejected=[{"id": r.item_id, "reason": r.reason, "detail": r.detail} for r in result.rejected],
            failed=[{"id": f.item_id, "reason": f.reason, "detail": f.detail[:500]} for f in failures],
            generated=result.generated,
            tokens=result.generator_usage.total_tokens + result.reviewer_usage.total_tokens,
            model=llm.label,
        )

    @server.tool(
        name="critique_qa",
        annotations=tool_annotations(
            "Critique Q&A pairs against their source",
            read_only=True,
            destructive=False,
            idempotent=True,
            open_world=False,
        ),
    )
    async def critique_qa(
        text: Annotated[Passage, Field(description="The source passage the pairs should be grounded in.")],
        pairs: Annotated[
            list[PairInput],
            bounded_list(MAX_PAIRS, "critique them in several calls"),
            Field(description="Question-answer pairs to critique.", min_length=1, max_length=MAX_PAIRS),
        ],
        ctx: Context,
        domain: Annotated[NameText, Field(description="Domain preset: law, medicine, finance, general.")] = "law",
        source: Annotated[NameText, Field(description="Name of the source, recorded as provenance.")] = "inline",
    ) -> CritiqueQAResult:
        """Check each question-answer pair against the source: a lexical pre-check, then checks code can
        verify (the answer's evidence located in the source, the asked term in it, numbers / periods /
        article references / named bodies compared as values, negations kept), an extractive round trip
        (the question answered again by quoting the source), with the embedded reviewer the answer check
        (its probability that the answer answers the question, read from token probabilities, must reach
        a measured bar) and a rubric judge that reads the located
        evidence (not with the embedded reviewer unless build.judge is "always": it accepted everything
        that passed the checks); a failed check is final. Returns per pair a verdict accept / revise /
        reject (or failed, with the reason), the located evidence with document offsets, every check's
        result, the scores, a rationale and, for revise, concrete feedback on what to change."""
        from ftds.tools.generation.review import critique_pairs  # the generation stack loads on first use
        from ftds.tools.generation.task_table import answer_check_called, judge_called

        state = state_of(ctx)
        chunk = _passage_chunk(text, source, domain)
        settings = state.settings.build.model_copy(update={"domain": domain})
        llm = await state.llm()
        asked = [(p.question, p.answer) for p in pairs]
        critiques, usage = await critique_pairs(
            chunk,
            asked,
            llm,
            settings,
            check_answers=answer_check_called(state.settings),
            call_judge=judge_called(state.settings),
        )
        decisions = [c.decision for c in critiques]
        return CritiqueQAResult(
            critiques=critiques,
            accepted=decisions.count("accept"),
            to_revise=decisions.count("revise"),
            rejected=decisions.count("reject"),
            failed=decisions.count("failed"),
            tokens=usage.total_tokens,
            model=llm.label,
        )
