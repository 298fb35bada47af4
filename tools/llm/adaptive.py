"""Adaptive concurrency per endpoint: additive increase, multiplicative decrease (AIMD) on 429s and timeouts.

A fixed ``llm.concurrency`` is either too low (a fast endpoint idles) or too high (a rate-limited one
answers 429 to half the calls, and every retry waits). The limit here starts at ``llm.concurrency`` (the
ceiling), halves when the endpoint answers 429 or an attempt times out, and grows by one after
``concurrency_increase_after`` successes in a row, never above the ceiling nor below one call.

One limit per endpoint (the settings' label: base URL + model) and event loop, shared by every model
object that calls it, as the rate buckets in :mod:`ftds.tools.llm.managed` are. Only one decrease per
"round": a 429 from a request sent before the last decrease says nothing about the new limit, so a burst
of 429s from calls already in flight halves the limit once, not once per call.

The signals come from the HTTP transport under the official client (:class:`ObservingTransport`), so the
client keeps its own retries with backoff and Retry-After, and each retried attempt is still seen here.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ftds.tools.config import LLMSettings
from ftds.tools.records import EndpointFigures


class AdaptiveLimit:
    """An AIMD-controlled counting semaphore. ``epoch`` counts decreases (see the module docstring)."""

    def __init__(self, ceiling: int, increase_after: int, adaptive: bool = True) -> None:
        self.ceiling = ceiling
        self.limit = ceiling
        self.increase_after = increase_after
        self.adaptive = adaptive
        self.in_flight = 0
        self.epoch = 0
        self._streak = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> None:
        while self.in_flight >= self.limit:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # pass on a wake-up this cancelled call can no longer use
                raise
        self.in_flight += 1

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        free = self.limit - self.in_flight
        while free > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1

    def succeeded(self, figures: _Counts) -> None:
        if not self.adaptive:
            return
        self._streak += 1
        if self._streak >= self.increase_after and self.limit < self.ceiling:
            self.limit += 1
            self._streak = 0
            figures.increases += 1
            self._wake()

    def overloaded(self, sent_in_epoch: int, figures: _Counts) -> None:
        self._streak = 0
        if not self.adaptive or sent_in_epoch != self.epoch:
            return
        self.epoch += 1
        new_limit = max(1, self.limit // 2)
        if new_limit < self.limit:
            self.limit = new_limit
            figures.decreases += 1
        figures.min_limit = min(figures.min_limit, self.limit)


@dataclass
class _Counts:
    """One model object's share of the figures (a run adds up its models' counts)."""

    ceiling: int
    min_limit: int
    rate_limited: int = 0
    timeouts: int = 0
    decreases: int = 0
    increases: int = 0


_ADAPTIVE: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, AdaptiveLimit]] = weakref.WeakKeyDictionary()


def adaptive_limit_for(settings: LLMSettings) -> AdaptiveLimit:
    """The shared limit for this endpoint in the running event loop (created at the ceiling)."""
    per_loop = _ADAPTIVE.setdefault(asyncio.get_running_loop(), {})
    if settings.label not in per_loop:
        per_loop[settings.label] = AdaptiveLimit(
            settings.concurrency, settings.concurrency_increase_after, settings.adaptive_concurrency
        )
    return per_loop[settings.label]


class EndpointPressure:
    """A model object's view of its endpoint's limit: the counts its own calls caused, and the figures."""

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self.counts = _Counts(ceiling=settings.concurrency, min_limit=settings.concurrency)
        self._last_limit = settings.concurrency

    def limit(self) -> AdaptiveLimit:
        shared = adaptive_limit_for(self.settings)
        self._last_limit = shared.limit
        self.counts.min_limit = min(self.counts.min_limit, shared.limit)
        return shared

    def figures(self) -> EndpointFigures:
        try:
            current = adaptive_limit_for(self.settings).limit
        except RuntimeError:  # no running loop (a report assembled after the run): the last seen value
            current = self._last_limit
        return EndpointFigures(
            ceiling=self.counts.ceiling,
            limit=current,
            min_limit=min(self.counts.min_limit, current),
            rate_limited=self.counts.rate_limited,
            timeouts=self.counts.timeouts,
            decreases=self.counts.decreases,
            increases=self.counts.increases,
        )


def endpoint_figures(models: Sequence[Any]) -> dict[str, EndpointFigures]:
    """Adaptive concurrency figures per endpoint label, adding up models that share an endpoint."""
    found = [
        {model.label: figures}
        for model in {id(m): m for m in models}.values()
        if (figures := model.endpoint_figures() if hasattr(model, "endpoint_figures") else None) is not None
    ]
    return merge_endpoint_figures(found)


def merge_endpoint_figures(many: Iterable[dict[str, EndpointFigures]]) -> dict[str, EndpointFigures]:
    """Figures of several models or processes (Ray workers), added up per endpoint label."""
    merged: dict[str, EndpointFigures] = {}
    for figures in many:
        for label, found in figures.items():
            merged[label] = merged[label].merged(found) if label in merged else found
    return merged


def _http_module() -> Any:
    """The HTTP library under the installed ``openai`` client (httpx2 in openai 3.x, httpx before)."""
    try:
        import httpx2

        return httpx2
    except ImportError:  # pragma: no cover - older openai releases
        import httpx

        return httpx


def observing_http_client(pressure: EndpointPressure) -> Any:
    """An HTTP client for ``openai.AsyncOpenAI`` whose transport reports every attempt to the limit."""
    import openai
    from openai._constants import DEFAULT_CONNECTION_LIMITS

    http = _http_module()

    class ObservingTransport(http.AsyncBaseTransport):  # type: ignore[name-defined]
        def __init__(self) -> None:
            self._inner = http.AsyncHTTPTransport(limits=DEFAULT_CONNECTION_LIMITS)

        async def handle_async_request(self, request: Any) -> Any:
            shared = pressure.limit()
            epoch = shared.epoch
            try:
                response = await self._inner.handle_async_request(request)
            except http.TimeoutException:
                pressure.counts.timeouts += 1
                shared.overloaded(epoch, pressure.counts)
                raise
            if response.status_code == 429:
                pressure.counts.rate_limited += 1
                shared.overloaded(epoch, pressure.counts)
            elif response.status_code < 500:
                shared.succeeded(pressure.counts)
            pressure.limit()  # note the limit after this attempt (for min_limit)
            return response

        async def aclose(self) -> None:
            await self._inner.aclose()

    return openai.DefaultAsyncHttpxClient(transport=ObservingTransport())
