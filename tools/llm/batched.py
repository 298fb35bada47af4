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
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import openai

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

QUIET_WINDOWS_CAP = 10
"""A batch is sent at the latest this many windows after its first call, even if calls keep trickling in."""
POLL_ERRORS_TOLERATED = 5
"""Failed status checks (each after the client's own retries) a batch's wait survives before its callers are
failed: a batch runs for hours, and a network blip must not throw its answers away."""


class BatchLedger:
    """The state file (SQLite, beside the run's checkpoints): which request went into which batch, so a
    restarted run finds its batches again. One row per request, written once when its batch is created: a
    run of a million calls never rewrites a big file. Every write is committed before the next wait."""

    def __init__(self, path: Path, label: str) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)  # one event loop uses it
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # a killed process loses nothing committed
            self._db.executescript(_LEDGER_SCHEMA)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('label', ?)", (label,))
            (owner,) = self._db.execute("SELECT value FROM meta WHERE key = 'label'").fetchone()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise LLMError(
                f"the batch state file {path} is unreadable ({exc}); the batches it named may still be running at "
                "the provider. Restore the file, or remove it to send the calls again"
            ) from None
        if owner != label:
            self._db.close()
            raise LLMError(
                f"the batch state file {path} belongs to {owner}, not {label}: resume the run with the endpoint it "
                "was started with"
            )

    def batch_of(self, custom_id: str) -> str | None:
        row = self._db.execute("SELECT batch_id FROM requests WHERE custom_id = ?", (custom_id,)).fetchone()
        return str(row[0]) if row else None

    def add(self, batch_id: str, custom_ids: Sequence[str]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("INSERT INTO batches VALUES (?, ?, 0)", (batch_id, time.time()))
            self._db.executemany(
                "INSERT OR REPLACE INTO requests VALUES (?, ?)", [(cid, batch_id) for cid in custom_ids]
            )

    def requests_of(self, batch_id: str) -> list[str]:
        rows = self._db.execute("SELECT custom_id FROM requests WHERE batch_id = ?", (batch_id,)).fetchall()
        return [str(row[0]) for row in rows]

    def collected(self, batch_id: str) -> bool:
        row = self._db.execute("SELECT collected FROM batches WHERE batch_id = ?", (batch_id,)).fetchone()
        return bool(row and row[0])

    def mark_collected(self, batch_id: str, failed: Sequence[str]) -> None:
        """The batch's answers are read: its failed requests leave the ledger (a later run asks again)."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("UPDATE batches SET collected = 1 WHERE batch_id = ?", (batch_id,))
            self._db.executemany("DELETE FROM requests WHERE custom_id = ?", [(cid,) for cid in failed])

    def batches(self) -> dict[str, bool]:
        """Every batch this run created, and whether its answers were read."""
        return {str(b): bool(c) for b, c in self._db.execute("SELECT batch_id, collected FROM batches")}

    def close(self) -> None:
        self._db.close()


_LEDGER_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (batch_id TEXT PRIMARY KEY, created_at REAL NOT NULL, collected INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS requests (custom_id TEXT PRIMARY KEY, batch_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS requests_by_batch ON requests (batch_id);
"""


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
        self._ledger = BatchLedger(state_path, settings.label)
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
        self.on_note: Callable[[str], None] = lambda _message: None
        """Where to say what the batches do (the build's progress line)."""

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
        batch_id = self._ledger.batch_of(custom_id)
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
        """Upload and create one batch; the ledger names it the moment it exists (before any wait). Every
        caller is answered: with the batch id, or with the error that kept the batch from being created."""
        requests = [entry.request for entry in entries]
        failure: LLMError | None = None
        try:
            with api_errors(self._settings):
                input_file_id = await upload_requests(self._api(), requests, self._settings)
                created = await create_batch(self._api(), input_file_id)
            self._ledger.add(created.id, [r.custom_id for r in requests])
        except LLMError as exc:
            failure = exc
        except Exception as exc:  # never leave a caller waiting for an answer that cannot come
            failure = LLMError(f"{self.label}: the batch could not be sent ({type(exc).__name__})")
        except asyncio.CancelledError:  # the model is closing: its callers are gone or going
            for entry in entries:
                for waiter in entry.waiters:
                    waiter.cancel()
            raise
        waiters = [waiter for entry in entries for waiter in entry.waiters if not waiter.done()]
        if failure is not None:
            for waiter in waiters:
                waiter.set_exception(LLMError(str(failure)))
            return
        self._created.add(created.id)
        self.figures.batches += 1
        self.on_note(
            f"batch {created.id}: {len(requests)} requests sent to {self.label}; waiting for its answers (an "
            "interrupted build resumes it with --resume, without sending it again)"
        )
        for waiter in waiters:
            waiter.set_result(created.id)

    def _collector(self, batch_id: str) -> asyncio.Task[dict[str, BatchOutcome]]:
        """The one task that waits for ``batch_id`` and reads its answers, shared by all its callers."""
        task = self._collecting.get(batch_id)
        if task is None:
            if batch_id not in self._created and batch_id not in self._resumed:
                self._resumed.add(batch_id)  # sent by an earlier process of this run
                self.figures.resumed += 1
                self.on_note(f"batch {batch_id}: sent before the interruption; waiting for its answers")
            task = self._spawn(self._collect(batch_id))
            self._collecting[batch_id] = task
            task.add_done_callback(lambda _done: self._collecting.pop(batch_id, None))
        return task

    async def _collect(self, batch_id: str) -> dict[str, BatchOutcome]:
        for attempt in range(POLL_ERRORS_TOLERATED + 1):
            try:
                with api_errors(self._settings):
                    batch = await wait_for_batch(self._api(), batch_id, poll_interval_s=self._settings.batch_poll_s)
                    outcomes = await batch_outcomes(self._api(), batch, self._ledger.requests_of(batch_id), self.label)
                break
            except LLMError:
                if attempt == POLL_ERRORS_TOLERATED:
                    raise  # its callers fail, as a live call fails once its retries are spent
                await asyncio.sleep(self._settings.batch_poll_s * 2**attempt)
        if not self._ledger.collected(batch_id):
            failed = [cid for cid, outcome in outcomes.items() if not outcome.ok]
            self.figures.requests += len(outcomes) - len(failed)
            self.figures.failed += len(failed)
            self._ledger.mark_collected(batch_id, failed)
            self.on_note(
                f"batch {batch_id}: {batch.status}, {len(outcomes) - len(failed)} answered, {len(failed)} failed"
            )
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
        self._ledger.close()


def on_batch_notes(models: Sequence[Any], note: Callable[[str], None]) -> None:
    """Have the batching models among ``models`` (bare or under the managed wrapper) report to ``note``."""
    for model in models:
        inner = getattr(model, "inner", model)
        if isinstance(inner, BatchingChatModel):
            inner.on_note = note
