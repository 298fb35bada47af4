"""A chat model that sends its calls through the endpoint's Batch API (``ftds-agent build --batch``).

The build runs one flow per chunk, each making one call at a time; with ``--batch`` hundreds of flows are in
flight, and their calls arrive here together. :class:`BatchingChatModel` collects them until no new call
has arrived for ``llm.batch_window_s`` (or ``llm.batch_max_requests`` are waiting), sends them as one batch
(:mod:`ftds.tools.llm.batch`: JSONL upload, create), polls it, and hands every caller its own answer, or an
:class:`LLMError` with the request's error, so a failed request becomes a sample's failure with a reason
exactly as a failed live call does. The flows never know: nothing in the graph changes.

Resumable without paying twice: a request's ``custom_id`` is a hash of its body, and the state file (the
"ledger", one per run and model, next to the run's checkpoints) records which ids each created batch holds.
A process killed while batches are pending loses nothing: on ``--resume`` the steps that were waiting make
the same calls again (finished steps are replayed from the checkpoint and make none), their ids are found in
the ledger, and they wait for the batch already running instead of creating a new one. A request whose
batch answered it with an error is taken out of the ledger, so a later run asks again, like a failed live
call. The ledger holds ids, statuses and the endpoint's printable label: never the API key.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

import openai
from pydantic import BaseModel, Field

from ftds.tools.config import LLMSettings
from ftds.tools.llm.base import ChatResult, LLMError, Message
from ftds.tools.llm.batch import (
    BatchOutcome,
    BatchRequest,
    api_errors,
    batch_client,
    batch_outcomes,
    create_batch,
    request_line,
    upload_requests,
    wait_for_batch,
)
from ftds.tools.records import BatchFigures, EndpointFigures

log = logging.getLogger(__name__)

QUIET_WINDOWS_CAP = 10
"""A batch is sent at the latest this many windows after its first call, even if calls keep trickling in."""


class LedgerBatch(BaseModel):
    status: str
    created_at: float
    custom_ids: list[str] = Field(description="Requests it holds (after collection: the ones it answered).")
    collected: bool = False


class BatchLedger(BaseModel):
    """The state file: which request went into which batch, so a restarted run finds its batches again."""

    label: str
    batches: dict[str, LedgerBatch] = Field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, label: str) -> BatchLedger:
        if path.is_file():
            try:
                ledger = cls.model_validate_json(path.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise LLMError(
                    f"the batch state file {path} is unreadable ({type(exc).__name__}); the batches it named may "
                    "still be running at the provider. Restore the file, or remove it to send the calls again"
                ) from None
            if ledger.label != label:
                raise LLMError(
                    f"the batch state file {path} belongs to {ledger.label}, not {label}: resume the run with the "
                    "endpoint it was started with"
                )
            return ledger
        return cls(label=label)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(self.model_dump_json(), encoding="utf-8")
        temporary.replace(path)  # atomic: a kill mid-write leaves the previous ledger


def request_key(body: dict[str, Any]) -> str:
    """A request's custom_id: the same call (model, messages, parameters) always gets the same id."""
    digest = hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()
    return f"ftds-{digest[:40]}"


class _Pending:
    def __init__(self, request: BatchRequest) -> None:
        self.request = request
        self.waiters: list[asyncio.Future[str]] = []  # each resolves to the batch id the request went into


class BatchingChatModel:
    """A :class:`~ftds.tools.llm.base.ChatModel` whose calls go through the endpoint's Batch API, in batches
    of many callers' requests; ``state_path`` is the run's ledger (see the module docstring)."""

    def __init__(self, settings: LLMSettings, state_path: Path) -> None:
        if settings.backend != "openai":
            raise LLMError("the Batch API needs an OpenAI-compatible endpoint (backend openai)")
        self._settings = settings
        self._state_path = state_path
        self._ledger = BatchLedger.load(state_path, settings.label)
        self._index = {cid: bid for bid, b in self._ledger.batches.items() for cid in b.custom_ids}
        self._client: openai.AsyncOpenAI | None = None
        self._pending: dict[str, _Pending] = {}
        self._first_arrival = 0.0
        self._last_arrival = 0.0
        self._timer: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._collecting: dict[str, asyncio.Task[dict[str, BatchOutcome]]] = {}
        self._created: set[str] = set()
        self._resumed: set[str] = set()
        self.figures = BatchFigures()

    @property
    def label(self) -> str:
        return self._settings.label

    async def complete(
        self,
        messages: list[Message],
        *,
        json_schema: dict[str, Any] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult:
        request = BatchRequest(
            custom_id="",
            messages=[dict(m) for m in messages],
            json_schema=json_schema,
            temperature=temperature,
            max_tokens=max_tokens,
        )
        custom_id = request_key(request_line(request, self._settings)["body"])
        request.custom_id = custom_id
        batch_id = self._index.get(custom_id)
        if batch_id is None:  # not sent yet (a resumed run finds the ones an earlier process sent)
            batch_id = await asyncio.shield(self._enqueue(request))
        outcomes = await asyncio.shield(self._collector(batch_id))
        outcome = outcomes.get(custom_id) or BatchOutcome(custom_id=custom_id, error="the batch returned no line")
        if outcome.result is None:
            raise LLMError(f"{self.label} batch {batch_id}: {outcome.error}")
        return outcome.result

    def _enqueue(self, request: BatchRequest) -> asyncio.Future[str]:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[str] = loop.create_future()
        now = loop.time()
        if not self._pending:
            self._first_arrival = now
        self._last_arrival = now
        self._pending.setdefault(request.custom_id, _Pending(request)).waiters.append(waiter)
        if len(self._pending) >= self._settings.batch_max_requests:
            self._send_pending()
        elif self._timer is None:
            self._timer = loop.create_task(self._send_when_quiet())
        return waiter

    async def _send_when_quiet(self) -> None:
        loop = asyncio.get_running_loop()
        window = self._settings.batch_window_s
        while self._pending:
            due = min(self._last_arrival + window, self._first_arrival + QUIET_WINDOWS_CAP * window)
            if loop.time() >= due:
                break
            await asyncio.sleep(due - loop.time())
        self._timer = None
        self._send_pending()

    def _send_pending(self) -> None:
        if not self._pending:
            return
        taken, self._pending = self._pending, {}
        if self._timer is not None and self._timer is not asyncio.current_task():
            self._timer.cancel()
            self._timer = None
        self._spawn(self._submit(list(taken.values())))

    def _spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _api(self) -> openai.AsyncOpenAI:
        if self._client is None:
            self._client = batch_client(self._settings)
        return self._client

    async def _submit(self, entries: list[_Pending]) -> None:
        """Upload and create one batch; the ledger names it the moment it exists (before any wait)."""
        requests = [entry.request for entry in entries]
        try:
            with api_errors(self._settings):
                input_file_id = await upload_requests(self._api(), requests, self._settings)
                created = await create_batch(self._api(), input_file_id)
        except LLMError as exc:
            for entry in entries:
                for waiter in entry.waiters:
                    if not waiter.done():
                        waiter.set_exception(LLMError(str(exc)))
            return
        ids = [r.custom_id for r in requests]
        self._ledger.batches[created.id] = LedgerBatch(status=created.status, created_at=time.time(), custom_ids=ids)
        self._ledger.save(self._state_path)
        self._index.update(dict.fromkeys(ids, created.id))
        self._created.add(created.id)
        self.figures.batches += 1
        log.info("batch %s created with %d requests on %s", created.id, len(ids), self.label)
        for entry in entries:
            for waiter in entry.waiters:
                if not waiter.done():
                    waiter.set_result(created.id)

    def _collector(self, batch_id: str) -> asyncio.Task[dict[str, BatchOutcome]]:
        """The one task that waits for ``batch_id`` and reads its answers, shared by all its callers."""
        task = self._collecting.get(batch_id)
        if task is None:
            if batch_id not in self._created and batch_id not in self._resumed:
                self._resumed.add(batch_id)  # sent by an earlier process of this run
                self.figures.resumed += 1
                log.info("resuming batch %s on %s", batch_id, self.label)
            task = self._spawn(self._collect(batch_id))
            self._collecting[batch_id] = task
            task.add_done_callback(lambda _done: self._collecting.pop(batch_id, None))
        return task

    async def _collect(self, batch_id: str) -> dict[str, BatchOutcome]:
        entry = self._ledger.batches[batch_id]

        def status_changed(batch: Any) -> None:
            entry.status = batch.status
            self._ledger.save(self._state_path)

        with api_errors(self._settings):
            batch = await wait_for_batch(
                self._api(), batch_id, poll_interval_s=self._settings.batch_poll_s, on_change=status_changed
            )
            outcomes = await batch_outcomes(self._api(), batch, entry.custom_ids, self.label)
        if not entry.collected:
            answered = [cid for cid, outcome in outcomes.items() if outcome.ok]
            failed = [cid for cid, outcome in outcomes.items() if not outcome.ok]
            self.figures.requests += len(answered)
            self.figures.failed += len(failed)
            for cid in failed:  # asked again by a later run, as a failed live call would be
                self._index.pop(cid, None)
            entry.custom_ids, entry.collected = answered, True
            self._ledger.save(self._state_path)
        return outcomes

    def endpoint_figures(self) -> EndpointFigures:
        ceiling = self._settings.concurrency
        return EndpointFigures(ceiling=ceiling, limit=ceiling, min_limit=ceiling, batch=self.figures.model_copy())

    async def aclose(self) -> None:
        """Stop waiting (batches still running are picked up by ``--resume``) and close the connection."""
        for task in [*self._tasks, *([self._timer] if self._timer else [])]:
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
