"""Provider batch APIs (OpenAI-compatible ``/v1/batches``): many chat calls at about half the price.

A batch is a JSONL file of requests uploaded through the files API, run by the provider within a
completion window (24 h), then read back as an output file (answers) and an error file (per-request
failures). :func:`run_batch` does all of it and is resumable: the batch id is written to a small state
file as soon as the batch exists, so a process killed while waiting picks the same batch up again instead
of paying for it twice. Every request ends accounted for: answered, or failed with a reason (an HTTP
error from the provider, a body that is not a chat completion, no line at all, or the batch itself
failing / expiring).

Answers come back as :class:`ftds.tools.llm.base.ChatResult`, the type a live call returns, so the build
can treat a batched reply like any other. The pieces (upload, create, wait, outcomes) are public for the
build's batching model (:mod:`ftds.tools.llm.batched`), which groups many callers' requests into batches.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import openai
from openai.types import Batch
from pydantic import BaseModel, Field

from ftds.tools.config import LLMSettings
from ftds.tools.llm.base import ChatResult, LLMError
from ftds.tools.llm.openai_compat import resolve_api_key
from ftds.tools.records import TokenUsage

ENDPOINT: Final = "/v1/chat/completions"
FINISHED = ("completed", "failed", "expired", "cancelled")


class BatchRequest(BaseModel):
    """One chat call in a batch; ``custom_id`` is the caller's key for its answer (unique in the batch)."""

    custom_id: str
    messages: list[dict[str, str]]
    json_schema: dict[str, Any] | None = None
    temperature: float | None = None
    max_tokens: int | None = None


class BatchOutcome(BaseModel):
    custom_id: str
    result: ChatResult | None = None
    error: str | None = Field(default=None, description="Why this request has no answer.")

    @property
    def ok(self) -> bool:
        return self.result is not None


class BatchState(BaseModel):
    """What the state file holds: enough to find the batch again after a restart."""

    requests_digest: str
    input_file_id: str | None = None
    batch_id: str | None = None
    status: str = "new"
    updated_at: float = 0.0


def requests_digest(requests: Sequence[BatchRequest], settings: LLMSettings) -> str:
    """Identity of a batch's content: a state file made for other requests or another model is not reused."""
    payload = json.dumps(
        [settings.label, [r.model_dump(mode="json") for r in requests]], ensure_ascii=False, sort_keys=True
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _load_state(path: Path, digest: str) -> BatchState:
    if path.is_file():
        try:
            state = BatchState.model_validate_json(path.read_text(encoding="utf-8"))
        except ValueError:
            state = None  # a torn or foreign file: start over rather than trust it
        if state is not None and state.requests_digest == digest:
            return state
    return BatchState(requests_digest=digest)


def _save_state(path: Path, state: BatchState) -> None:
    state.updated_at = time.time()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(state.model_dump_json(indent=2), encoding="utf-8")
    temporary.replace(path)  # atomic: a kill mid-write leaves the previous state


def request_line(request: BatchRequest, settings: LLMSettings) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": settings.model,
        "messages": request.messages,
        "temperature": settings.temperature if request.temperature is None else request.temperature,
        "max_tokens": settings.max_tokens if request.max_tokens is None else request.max_tokens,
    }
    if request.json_schema is not None:
        mode = settings.structured_output or "json_object"
        if mode == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": request.json_schema},
            }
        elif mode == "json_object":
            body["response_format"] = {"type": "json_object"}
    return {"custom_id": request.custom_id, "method": "POST", "url": ENDPOINT, "body": body}


def _outcome_from_line(line: dict[str, Any], label: str) -> BatchOutcome:
    custom_id = str(line.get("custom_id"))
    if line.get("error"):
        error = line["error"]
        message = error.get("message") if isinstance(error, dict) else str(error)
        return BatchOutcome(custom_id=custom_id, error=f"batch request failed: {message}")
    response = line.get("response") or {}
    status = response.get("status_code")
    body = response.get("body") or {}
    if status != 200:
        detail = body.get("error", {}).get("message", "") if isinstance(body, dict) else ""
        return BatchOutcome(custom_id=custom_id, error=f"HTTP {status} in the batch: {detail}".rstrip(": "))
    try:
        choice = body["choices"][0]
        message = choice["message"]
        usage = body.get("usage") or {}
        result = ChatResult(
            text=message.get("content") or "",
            reasoning=message.get("reasoning_content") or None,
            usage=TokenUsage(
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
                calls=1,
            ),
            model=label,
            finish_reason=choice.get("finish_reason"),
        )
    except (KeyError, IndexError, TypeError, ValueError):
        return BatchOutcome(custom_id=custom_id, error="the batch answer is not a chat completion")
    return BatchOutcome(custom_id=custom_id, result=result)


async def _file_lines(client: openai.AsyncOpenAI, file_id: str | None) -> list[dict[str, Any]]:
    if not file_id:
        return []
    content = await client.files.content(file_id)
    lines = []
    for raw in content.text.splitlines():
        if raw.strip():
            try:
                lines.append(json.loads(raw))
            except ValueError:
                continue  # an unreadable line: its request is reported as having no result
    return lines


def batch_client(settings: LLMSettings) -> openai.AsyncOpenAI:
    """A client for the endpoint's files and batches APIs (the key is read from its environment variable)."""
    return openai.AsyncOpenAI(
        base_url=settings.base_url,
        api_key=resolve_api_key(settings),
        timeout=settings.timeout_s,
        max_retries=settings.max_retries,
    )


@contextmanager
def api_errors(settings: LLMSettings) -> Iterator[None]:
    """The batch API's transport errors as :class:`LLMError` sentences (no key, no request dump)."""
    try:
        yield
    except openai.APIStatusError as exc:
        raise LLMError(f"{settings.label} batch API answered HTTP {exc.status_code}") from None
    except openai.APIConnectionError:
        raise LLMError(f"could not connect to {settings.label} for the batch API") from None
    except openai.OpenAIError as exc:  # e.g. a reply that is not the object the API documents
        raise LLMError(f"{settings.label} batch API: {type(exc).__name__}") from None


async def upload_requests(client: openai.AsyncOpenAI, requests: Sequence[BatchRequest], settings: LLMSettings) -> str:
    """Upload the requests as a batch input file (JSONL); returns its file id. Uploading costs nothing."""
    jsonl = "".join(json.dumps(request_line(r, settings), ensure_ascii=False) + "\n" for r in requests)
    uploaded = await client.files.create(file=("ftds-batch.jsonl", jsonl.encode("utf-8")), purpose="batch")
    return uploaded.id


async def create_batch(client: openai.AsyncOpenAI, input_file_id: str) -> Batch:
    """Create the batch over an uploaded file: from here on the provider runs (and bills) it."""
    return await client.batches.create(input_file_id=input_file_id, endpoint=ENDPOINT, completion_window="24h")


async def wait_for_batch(
    client: openai.AsyncOpenAI,
    batch_id: str,
    *,
    poll_interval_s: float,
    max_wait_s: float | None = None,
    on_change: Callable[[Batch], None] | None = None,
) -> Batch:
    """Poll until the batch is finished (completed, failed, expired or cancelled); ``on_change`` hears of
    every new status. Raises :class:`LLMError` past ``max_wait_s`` (the batch keeps running at the provider)."""
    started = time.monotonic()
    last = None
    while True:
        batch = await client.batches.retrieve(batch_id)
        if batch.status != last:
            last = batch.status
            if on_change is not None:
                on_change(batch)
        if batch.status in FINISHED:
            return batch
        if max_wait_s is not None and time.monotonic() - started > max_wait_s:
            raise LLMError(f"batch {batch_id} still {batch.status} after {max_wait_s:g}s; run again to resume it")
        await asyncio.sleep(poll_interval_s)


async def batch_outcomes(
    client: openai.AsyncOpenAI, batch: Batch, ids: Sequence[str], label: str
) -> dict[str, BatchOutcome]:
    """An outcome for every one of ``ids`` from a finished batch's output and error files: the answer, the
    request's own error, or why there is none (the batch ended failed / expired, or returned no line)."""
    lines = await _file_lines(client, batch.output_file_id) + await _file_lines(client, batch.error_file_id)
    outcomes: dict[str, BatchOutcome] = {}
    wanted = set(ids)
    for line in lines:
        outcome = _outcome_from_line(line, label)
        if outcome.custom_id in wanted and outcome.custom_id not in outcomes:
            outcomes[outcome.custom_id] = outcome
    why_missing = (
        f"the batch ended {batch.status}" if batch.status != "completed" else "the batch returned no line for it"
    )
    for custom_id in ids:
        outcomes.setdefault(custom_id, BatchOutcome(custom_id=custom_id, error=why_missing))
    return {custom_id: outcomes[custom_id] for custom_id in ids}


async def run_batch(
    requests: Sequence[BatchRequest],
    settings: LLMSettings,
    state_path: Path,
    *,
    poll_interval_s: float = 30.0,
    max_wait_s: float | None = None,
    on_status: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, BatchOutcome]:
    """Send ``requests`` as one batch (or resume the one ``state_path`` names) and wait for it.

    Returns an outcome per custom_id. Raises :class:`LLMError` for what makes the whole call unusable
    (duplicate custom ids, the endpoint refusing the upload or the batch, waiting past ``max_wait_s``:
    the state file then still names the batch, so a later call resumes it)."""
    ids = [r.custom_id for r in requests]
    if len(set(ids)) != len(ids):
        raise LLMError("batch requests need unique custom_id values")
    if not requests:
        return {}
    digest = requests_digest(requests, settings)
    state = _load_state(state_path, digest)
    client = batch_client(settings)
    report = on_status or (lambda _kind, _data: None)

    def status_changed(batch: Batch) -> None:
        if batch.status != state.status:
            state.status = batch.status
            _save_state(state_path, state)
            report("batch_status", {"batch_id": batch.id, "status": batch.status})

    try:
        with api_errors(settings):
            if state.batch_id is None:
                if state.input_file_id is None:
                    state.input_file_id = await upload_requests(client, requests, settings)
                    _save_state(state_path, state)
                created = await create_batch(client, state.input_file_id)
                state.batch_id, state.status = created.id, created.status
                _save_state(state_path, state)
                report("batch_created", {"batch_id": created.id, "requests": len(requests)})
            else:
                report("batch_resumed", {"batch_id": state.batch_id, "status": state.status})
            batch = await wait_for_batch(
                client, state.batch_id, poll_interval_s=poll_interval_s, max_wait_s=max_wait_s, on_change=status_changed
            )
            return await batch_outcomes(client, batch, ids, settings.label)
    finally:
        await client.close()
