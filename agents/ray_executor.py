"""Run the per-chunk flows on a Ray cluster: ``ftds-agent build --executor ray [--ray-address ADDR]``.

The driver keeps the build graph — load, plan, the checkpoint, finalize — and only the per-chunk flow moves.
The plan sends each chunk to the graph's ``remote_chunk`` node, which hands it to a :class:`RayChunkPool` and
waits for its result. The pool's actors (:class:`ChunkWorker`, one per CPU of the cluster unless told
otherwise, spread over the nodes) each build their models once — an LLM client with its own adaptive limit,
or the embedded model loaded once per worker — and run many chunks at a time through the same flow the local
executor runs (:func:`ftds.agents.chunk_flow.run_chunk`). So both executors write the same dataset for the
same inputs, cache and seed.

What is durable where: the driver's checkpoint records each chunk when its result comes back, so a killed
driver resumes with only the unfinished chunks. A chunk in flight on an actor that dies (its node lost, its
process killed) is sent again to a live actor, and a replacement actor is asked for; only when no actor is
left for :data:`NO_WORKER_TIMEOUT_S` does the chunk fail, with the reason ``executor:worker_lost``. Unlike
the local executor, a chunk's LLM steps are not checkpointed one by one: a chunk re-run after a loss repeats
its calls (answered from the response cache when the lost worker shared the cache folder).

Credentials: the workers need the endpoint's key. It is handed to the actors as an environment variable of
their runtime environment (held by the cluster's control store, never written to logs or checkpoints by
ftds); use a cluster you trust with the key.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from ftds.tools.build.steps import ChunkResult
from ftds.tools.config import Settings
from ftds.tools.generation.labels import LabelTree
from ftds.tools.llm.adaptive import endpoint_figures, merge_endpoint_figures
from ftds.tools.ray_connection import RayConnection, import_ray
from ftds.tools.reasons import Reason
from ftds.tools.records import Chunk, EndpointFigures, ExecutorFigures, ItemOutcome

NO_WORKER_TIMEOUT_S = 120.0
"""How long a chunk waits for a live actor when every actor is gone (a replacement is being placed)."""
MAX_ATTEMPTS = 4
"""Sends of one chunk before it fails: a chunk that kills every worker it lands on is not retried forever."""


class ChunkWorker:
    """A Ray actor that runs chunks through the per-chunk flow with models built once for its life."""

    def __init__(self, settings: Settings, run_id: str) -> None:
        from ftds.agents.context import BuildContext
        from ftds.agents.runner import make_models

        generator, reviewer = make_models(settings, run_id)
        # no live folder and no progress sink here: the driver reports each chunk when its result arrives
        self.context = BuildContext(settings, generator, reviewer, Path(settings.cache_dir), run_id)

    def ready(self) -> bool:
        return True

    async def run(self, chunk: Chunk, labels: LabelTree | None) -> ChunkResult:
        from ftds.agents.chunk_flow import run_chunk

        self.context.labels = labels
        try:
            return await run_chunk(chunk, self.context)
        finally:
            self.context.chunks.pop(chunk.chunk_id, None)

    def figures(self) -> dict[str, EndpointFigures]:
        return endpoint_figures([self.context.generator, self.context.reviewer])

    async def close(self) -> None:
        from ftds.agents.runner import close_context

        await close_context(self.context)


def _worker_env(settings: Settings) -> dict[str, str]:
    """The API keys the workers' models read, from this process's environment (nodes elsewhere lack them)."""
    names = {settings.llm.api_key_env, settings.reviewer_llm.api_key_env}
    return {name: os.environ[name] for name in sorted(names) if os.environ.get(name)}


class RayChunkPool:
    """The build's chunks on a pool of :class:`ChunkWorker` actors; ``run`` is what the graph awaits."""

    def __init__(self, settings: Settings, run_id: str) -> None:
        self._ray = import_ray()
        self._settings = settings
        self._run_id = run_id
        self._actor_class = self._ray.remote(ChunkWorker)
        self._alive: dict[Any, int] = {}  # actor -> chunks in flight on it
        self._placing: list[tuple[Any, Any]] = []  # (actor, its ready() ref): asked for, not yet up
        self._labels: tuple[LabelTree | None, Any] | None = None
        self._slots: asyncio.Semaphore | None = None  # made in the graph's event loop, on first use
        self._start_error = ""  # why the last actor that died starting did
        self.lost_workers = 0
        self.resent_chunks = 0
        self._connection = RayConnection(settings.build.ray_address)
        try:
            self._connection.open()
            self.size = settings.build.ray_workers or max(1, int(self._ray.cluster_resources().get("CPU", 1)))
            for _ in range(self.size):
                self._place()
            self._wait_for_first(NO_WORKER_TIMEOUT_S)
        except BaseException:
            self.close()
            raise

    @property
    def capacity(self) -> int:
        """Chunks worth keeping in flight: each actor runs ``llm.concurrency`` calls at a time."""
        return self.size * max(1, self._settings.llm.concurrency)

    def _place(self) -> None:
        actor = self._actor_class.options(
            num_cpus=self._settings.build.ray_worker_cpus,
            scheduling_strategy="SPREAD",
            runtime_env={"env_vars": _worker_env(self._settings)},
        ).remote(self._settings, self._run_id)
        self._placing.append((actor, actor.ready.remote()))

    def _admit_ready(self) -> None:
        """Move actors whose constructor finished into the pool; drop ones that died starting."""
        if not self._placing:
            return
        refs = [ref for _, ref in self._placing]
        done, _ = self._ray.wait(refs, num_returns=len(refs), timeout=0)
        still: list[tuple[Any, Any]] = []
        for actor, ref in self._placing:
            if ref not in done:
                still.append((actor, ref))
                continue
            try:
                self._ray.get(ref)
            except self._ray.exceptions.RayError as exc:
                self._start_error = _short(exc)
                continue
            self._alive[actor] = 0
        self._placing = still

    def _wait_for_first(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self._admit_ready()
            if self._alive:
                return
            if not self._placing:
                why = self._start_error or "see the worker logs (`ray logs`)"
                raise ValueError(f"no Ray worker could start: {why}")
            if time.monotonic() > deadline:
                raise ValueError(
                    f"no Ray worker started within {timeout:.0f} s: the cluster has no free resources for one "
                    f"(each asks for {self._settings.build.ray_worker_cpus} CPU); see `ray status`"
                )
            self._ray.wait([ref for _, ref in self._placing], num_returns=1, timeout=1.0)

    async def _pick(self) -> Any:
        deadline = time.monotonic() + NO_WORKER_TIMEOUT_S
        while True:
            self._admit_ready()
            if self._alive:
                return min(self._alive, key=lambda actor: self._alive[actor])
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.5)

    def _lose(self, actor: Any) -> None:
        if self._alive.pop(actor, None) is not None:
            self.lost_workers += 1
            self._place()  # a replacement, wherever the cluster has room; it joins when up

    def _labels_ref(self, labels: LabelTree | None) -> Any:
        """The label tree is the same for every chunk of a run: put it in the object store once."""
        if self._labels is None or self._labels[0] is not labels:
            self._labels = (labels, self._ray.put(labels))
        return self._labels[1]

    async def run(self, chunk: Chunk, labels: LabelTree | None) -> ChunkResult:
        """The chunk's result from a live worker; at most :attr:`capacity` chunks are out at once."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.capacity)
        async with self._slots:
            return await self._run(chunk, labels)

    async def _run(self, chunk: Chunk, labels: LabelTree | None) -> ChunkResult:
        errors = self._ray.exceptions
        lost = (errors.RayActorError, errors.ActorUnavailableError, errors.ObjectLostError, errors.OwnerDiedError)
        for attempt in range(MAX_ATTEMPTS):
            actor = await self._pick()
            if actor is None:
                return _failed(chunk, Reason.EXECUTOR_WORKER_LOST, "no Ray worker left alive to run the chunk")
            self._alive[actor] += 1
            try:
                result: ChunkResult = await actor.run.remote(chunk, self._labels_ref(labels))
                return result
            except lost as exc:
                self._lose(actor)
                if attempt + 1 < MAX_ATTEMPTS:
                    self.resent_chunks += 1
                last = _short(exc)
            except errors.RayTaskError as exc:  # the flow itself raised on the worker: a bug, not a lost node
                return _failed(chunk, Reason.EXECUTOR_WORKER_ERROR, _short(exc))
            finally:
                if actor in self._alive:
                    self._alive[actor] -= 1
        return _failed(chunk, Reason.EXECUTOR_WORKER_LOST, f"lost its worker {MAX_ATTEMPTS} times; last: {last}")

    def endpoint_figures(self) -> dict[str, EndpointFigures]:
        """The workers' adaptive-concurrency figures, added up per endpoint (each worker adapts on its own)."""
        refs = [actor.figures.remote() for actor in self._alive]
        return merge_endpoint_figures(self._figures_of(ref) for ref in refs)

    def _figures_of(self, ref: Any) -> dict[str, EndpointFigures]:
        try:
            figures: dict[str, EndpointFigures] = self._ray.get(ref, timeout=30)
        except self._ray.exceptions.RayError:
            return {}  # a worker lost at the end: its figures go with it
        return figures

    def figures(self) -> ExecutorFigures:
        return ExecutorFigures(
            name="ray",
            address=self._settings.build.ray_address or "",
            workers=self.size,
            lost_workers=self.lost_workers,
            resent_chunks=self.resent_chunks,
        )

    def close(self) -> None:
        """End the actors (their clients closed first) and let go of the cluster if this pool connected."""
        actors = [*self._alive, *(actor for actor, _ in self._placing)]
        closing = [actor.close.remote() for actor in self._alive]
        if closing:
            self._ray.wait(closing, num_returns=len(closing), timeout=10)
        for actor in actors:
            self._ray.kill(actor)
        self._alive.clear()
        self._placing.clear()
        self._connection.close()


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def _failed(chunk: Chunk, reason: Reason, detail: str) -> ChunkResult:
    outcome = ItemOutcome(item_id=chunk.chunk_id, kind="chunk", status="failed", reason=reason, detail=detail)
    return ChunkResult(chunk_id=chunk.chunk_id, chunk_failure=outcome)
