"""FAKE OpenAI-compatible chat server for tests and benchmarks (loopback only).

It answers ``POST /v1/chat/completions`` the way a cooperative model would for each of ftds' prompts,
recognised by the JSON key the prompt asks for (pairs, reviews, quotes, revised, answers, items, dialogues,
labels, records, tags, questions): answers are built from the source sentences in the prompt. It waits a
configurable latency, and injects faults on demand: 429 with Retry-After, 500, timeouts, malformed bodies,
non-JSON content and ``<think>`` blocks. Everything it received is kept in ``requests``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import multiprocessing
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.fakes.fake_eval import EVAL_KEYS, fake_eval_reply, fake_exam_answer, is_exam_question
from tests.fakes.serving import ThreadedServer, free_port

FAULTS = ("429", "500", "timeout", "malformed_body", "not_json", "think")


@dataclass
class FakeServerConfig:
    latency_s: float = 0.0
    """Median latency of a reply (every reply waits exactly this when ``latency_p95_s`` is None)."""
    latency_p95_s: float | None = None
    """With a median ``latency_s``: replies wait a log-normal time with this 95th percentile (real endpoints
    have long tails; a build that waits for its slowest call at every stage shows it here)."""
    fault_rate: float = 0.0
    faults: tuple[str, ...] = FAULTS
    seed: int = 0
    review_score: int = 5
    retry_after_s: float = 0.05
    timeout_sleep_s: float = 3.0
    script: list[str] = field(default_factory=list)  # fault names to inject first, in order ("ok" = none)
    on_request: Callable[[int], None] | None = None  # called with the 1-based request number on arrival
    # When set, unrevised pairs get this score with concrete feedback, revised ones get review_score.
    feedback_score: int | None = None
    label_tree_reply: dict[str, Any] | None = None  # replaces the label-tree answer (e.g. a copied example)
    # A provider's concurrency cap: a request arriving while this many are already in flight gets a 429
    # (like fault "429", with Retry-After). None = no cap.
    max_concurrent: int | None = None
    # Yes/no scoring requests (``logprobs``: the answer check) get first-token top_logprobs, as OpenAI and vLLM
    # send them; False = a server that ignores ``logprobs`` and sends none.
    logprobs: bool = True


def _source_from_prompt(text: str) -> str:
    match = re.search(r'"""\n(.*?)\n"""', text, re.DOTALL)
    return match.group(1) if match else text


def _sentences(source: str) -> list[str]:
    body = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("#"))
    parts = re.split(r"(?<=[。！？；.!?;])\s*", body)
    return [p.strip() for p in parts if len(p.strip()) >= 8]


def fake_generation(prompt: str) -> dict[str, Any]:
    count_match = re.search(r"(\d+)\s*(?:个问答对|question-answer pairs)", prompt)
    count = int(count_match.group(1)) if count_match else 2
    sentences = _sentences(_source_from_prompt(prompt)) or ["(no source text)"]
    zh = bool(re.search(r"[\u4e00-\u9fff]", prompt[:200]))
    pairs = []
    for index in range(count):
        sentence = sentences[index % len(sentences)]
        topic = sentence[:14]
        question = (
            f"关于“{topic}”，有什么规定？（第{index + 1}问）"
            if zh
            else f"What does the law provide about '{topic}'? (question {index + 1})"
        )
        pairs.append({"question": question, "answer": sentence})
    return {"pairs": pairs}


REVISED_MARK = " (revised)"
SHORT_ANSWER_CHARS = 20


def _listed(prompt: str) -> list[str]:
    """The label choices a prompt offers: the "- item" lines after its label instruction (the rubric's own
    "- grounded: ..." lines come before it), or every such line when there is no instruction."""
    marker = re.search(r"(label 字段|label field|标签)[^\n]*\n", prompt)
    return re.findall(r"^- (.+)$", prompt[marker.end() :] if marker else prompt, re.MULTILINE)


def fake_review(prompt: str, score: int, feedback_score: int | None = None) -> dict[str, Any]:
    """A score per pair: short answers lose two points, and with ``feedback_score`` an unrevised pair
    gets that score plus feedback (so the revise loop can be exercised)."""
    pairs = re.findall(r"^(\d+)\. Q: (.*?)(?:\n   A: (.*?))?$", prompt, re.MULTILINE)
    labels = _listed(prompt)
    reviews = []
    for number, _question, answer in pairs:
        value, feedback = score, ""
        if answer and len(answer) < SHORT_ANSWER_CHARS:
            value = max(1, score - 2)
        if feedback_score is not None and REVISED_MARK not in (answer or ""):
            value, feedback = feedback_score, "Name the article the answer rests on."
        reviews.append(
            {
                "index": int(number),
                "grounded": value,
                "question": value,
                "answer": value,
                "language": value,
                "rationale": "fake reviewer",
                "feedback": feedback,
                "label": labels[0] if labels else "",
            }
        )
    return {"reviews": reviews}


def _numbered(prompt: str) -> list[tuple[int, str]]:
    return [(int(n), text) for n, text in re.findall(r"^(\d+)\. (?!Q:)(.+)$", prompt, re.MULTILINE)]


def _closest(sentences: list[str], question: str) -> str:
    """The source sentence sharing most character bigrams (or words) with ``question``: what a cooperative
    model answers it with."""

    def units(text: str) -> set[str]:
        if re.search(r"[\u4e00-\u9fff]", text):
            return {text[i : i + 2] for i in range(len(text) - 1)}
        return set(re.findall(r"[a-z]{3,}", text.lower()))

    asked = units(question)

    scored = [(len(asked & units(sentence)), -position) for position, sentence in enumerate(sentences)]
    return sentences[-max(scored)[1]]  # ties: the first such sentence


def fake_reply(prompt: str, config: FakeServerConfig, temperature: float = 0.3) -> dict[str, Any]:
    """The reply for whichever prompt this is, keyed by the outer JSON key of the prompt's last example line."""
    example_lines = [line for line in prompt.splitlines() if '{"' in line]
    keys = re.findall(r'\{"(\w+)": \[', example_lines[-1]) if example_lines else []
    key = keys[0] if keys else "pairs"
    sentences = _sentences(_source_from_prompt(prompt)) or ["(no source text in the prompt)"]
    if key in EVAL_KEYS:
        return fake_eval_reply(key, prompt, sentences)
    if key == "reviews":
        return fake_review(prompt, config.review_score, config.feedback_score)
    if key == "revised":
        items = re.findall(r"^(\d+)\. Q: (.*?)\n   A: (.*?)\n", prompt, re.MULTILINE)
        return {"revised": [{"index": int(n), "question": q, "answer": a + REVISED_MARK} for n, q, a in items]}
    if key == "quotes":
        # the round trip: quote, per numbered question, the source sentence that shares most of its words
        asked = _numbered(prompt.rsplit('"""', 1)[-1])  # the numbered questions come after the source
        quotes = [{"index": n, "sentences": [_closest(sentences, q)]} for n, q in asked]
        return {"quotes": quotes}
    if key == "answers":
        # a hotter candidate is terser, so the fake reviewer prefers the cooler one
        answers = [_closest(sentences, question) for _, question in _numbered(prompt.rsplit('"""', 1)[-1])]
        if temperature >= 0.5:
            answers = [a[-12:] for a in answers]  # the tail: a head would sit inside its own question
        return {"answers": [{"index": i, "answer": a} for i, a in enumerate(answers, 1)]}
    if key == "items":
        pairs = fake_generation(prompt)["pairs"]
        return {
            "items": [{"question": p["question"], "steps": [p["answer"], "So:"], "answer": p["answer"]} for p in pairs]
        }
    if key == "dialogues":
        turns = []
        for index, sentence in enumerate(sentences[:2]):
            turns += [
                {"role": "user", "content": f"Tell me about {sentence[:14]} ({index + 1})?"},
                {"role": "assistant", "content": sentence},
            ]
        return {"dialogues": [{"turns": turns}]}
    if key == "labels":
        if '"index": 1, "label"' in prompt:
            labels = _listed(prompt) or ["general"]
            return {"labels": [{"index": n, "label": labels[0]} for n, _ in _numbered(prompt)]}
        if config.label_tree_reply is not None:
            return config.label_tree_reply
        return {
            "labels": [
                {"name": "Data security", "children": [{"name": "Classification"}]},
                {"name": "Obligations", "children": []},
            ]
        }
    if key == "records":
        labels = _listed(prompt) or ["general"]
        return {"records": [{"text": s, "label": labels[0]} for s in sentences[:2]]}
    if key == "tags":
        return {"tags": [{"name": f"Area {i}", "subtopics": [f"Subtopic {i}.1", f"Subtopic {i}.2"]} for i in (1, 2)]}
    if key == "questions":
        count_match = re.search(r"(\d+) (?:distinct|个)", prompt)
        count = int(count_match.group(1)) if count_match else 2
        if re.search(r"[\u4e00-\u9fff]", prompt[:200]):
            return {"questions": [f"这一领域的第{i + 1}个要点是什么？" for i in range(count)]}
        return {"questions": [f"What must a practitioner know about point {i + 1} of this area?" for i in range(count)]}
    return fake_generation(prompt)


def fake_yes_probability(prompt: str) -> float:
    """A cooperative scorer: sure of "yes" when the proposed answer's words are in the passage it is shown."""
    passage = re.split(r"Question:|问题：", prompt, maxsplit=1)[0]
    answer = re.split(r"Proposed answer:|答案：", prompt)[-1].split("\n", 1)[0]
    words = re.findall(r"[\u4e00-\u9fff]|\w+", answer.lower())
    found = sum(word in passage.lower() for word in words) / max(1, len(words))
    return 0.95 if found >= 0.8 else 0.15


def logprobs_reply(p_yes: float) -> tuple[str, dict[str, Any]]:
    """The reply token and its ``logprobs`` block for a yes/no question answered with P(yes) = ``p_yes``."""
    top = [{"token": "yes", "logprob": math.log(p_yes)}, {"token": "no", "logprob": math.log(1 - p_yes)}]
    first = top[0] if p_yes >= 0.5 else top[1]
    return first["token"], {"content": [{**first, "top_logprobs": top}]}


def body_digest(body: dict[str, Any]) -> str:
    """Identity of a request: what was asked, ignoring transport details."""
    return hashlib.sha256(json.dumps(body.get("messages"), sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class FakeOpenAIServer:
    """Run with ``with FakeOpenAIServer(config) as server:``; ``server.base_url`` ends in /v1."""

    def __init__(self, config: FakeServerConfig | None = None) -> None:
        self.config = config or FakeServerConfig()
        self.requests: list[dict[str, Any]] = []
        self.answered: list[str] = []  # body digests of requests that got a successful reply
        self.faults_served: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests the server held at once
        self._rng = random.Random(self.config.seed)
        self._jitter = random.Random(self.config.seed + 1)  # its own stream: faults stay where they were
        self._lock = threading.Lock()
        self._script = list(self.config.script)
        self.port = free_port()
        self._server: ThreadedServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _latency(self) -> float:
        median, p95 = self.config.latency_s, self.config.latency_p95_s
        if p95 is None or median <= 0:
            return median
        sigma = math.log(p95 / median) / 1.6449  # the 95th percentile of a standard normal
        with self._lock:
            return median * math.exp(sigma * self._jitter.gauss(0.0, 1.0))

    def _next_fault(self) -> str:
        with self._lock:
            if self._script:
                return self._script.pop(0)
            if self._rng.random() < self.config.fault_rate:
                return self._rng.choice(self.config.faults)
            return "ok"

    async def _chat(self, request: Request) -> Response:
        body = await request.json()
        with self._lock:
            self.requests.append(body)
            number = len(self.requests)
        if self.config.on_request is not None:
            self.config.on_request(number)
        with self._lock:
            over_cap = self.config.max_concurrent is not None and self.in_flight >= self.config.max_concurrent
            if not over_cap:
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
        if over_cap:
            self.faults_served["429"] += 1
            return self._rate_limited()
        try:
            await asyncio.sleep(self._latency())
            return await self._answer(body)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _rate_limited(self) -> Response:
        return JSONResponse(
            {"error": {"message": "rate limited"}},
            status_code=429,
            headers={"retry-after-ms": str(int(self.config.retry_after_s * 1000)), "retry-after": "1"},
        )

    async def _answer(self, body: dict[str, Any]) -> Response:
        fault = self._next_fault()
        self.faults_served[fault] += 1
        if fault == "429":
            return self._rate_limited()
        if fault == "500":
            return JSONResponse({"error": {"message": "internal error"}}, status_code=500)
        if fault == "timeout":
            await asyncio.sleep(self.config.timeout_sleep_s)
        if fault == "malformed_body":
            return PlainTextResponse('{"choices": [ {"message": ', media_type="application/json")
        prompt = "\n".join(m.get("content", "") for m in body.get("messages", []))
        logprobs = None
        if body.get("logprobs"):  # a yes/no scoring request: one token, its probabilities if this server sends them
            content, block = logprobs_reply(fake_yes_probability(prompt))
            logprobs = block if self.config.logprobs else None
        elif is_exam_question(prompt):  # an evaluation run asks in prose and expects prose
            content = fake_exam_answer(prompt, self.config.seed)
        else:
            reply = fake_reply(prompt, self.config, float(body.get("temperature") or 0.0))
            content = json.dumps(reply, ensure_ascii=False)
        if fault == "not_json":
            content = "I am sorry, I cannot produce JSON for this."
        elif fault == "think":
            content = f"<think>Let me read the source carefully.</think>```json\n{content}\n```"
        with self._lock:
            self.answered.append(body_digest(body))
        return JSONResponse(
            {
                "id": f"fake-{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": content},
                        "logprobs": logprobs,
                    }
                ],
                "usage": {
                    "prompt_tokens": len(prompt) // 2,
                    "completion_tokens": len(content) // 2,
                    "total_tokens": (len(prompt) + len(content)) // 2,
                },
            }
        )

    def __enter__(self) -> FakeOpenAIServer:
        app = Starlette(routes=[Route("/v1/chat/completions", self._chat, methods=["POST"])])
        self._server = ThreadedServer(app, self.port, "fake OpenAI server")
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.stop()


def _serve(config: FakeServerConfig, port_out: Any, stop: Any) -> None:
    with FakeOpenAIServer(config) as server:
        port_out.send(server.port)
        stop.wait()


@contextmanager
def remote_fake_server(config: FakeServerConfig) -> Iterator[SimpleNamespace]:
    """The fake server in its own process, as a real endpoint would be (for benchmarks): in-process, its event
    loop would compete with the client for the GIL and the measurement would charge the server's work to ftds.
    Yields an object with ``base_url``."""
    receiver, sender = multiprocessing.Pipe(duplex=False)
    stop = multiprocessing.Event()
    process = multiprocessing.Process(target=_serve, args=(config, sender, stop), daemon=True)
    process.start()
    try:
        port = receiver.recv()
        yield SimpleNamespace(base_url=f"http://127.0.0.1:{port}/v1")
    finally:
        stop.set()
        process.join(timeout=10)
