"""FAKE OpenAI-compatible Batch API for tests (loopback only): files and batches endpoints.

``POST /v1/files`` (multipart, purpose=batch) stores a JSONL upload; ``POST /v1/batches`` creates a batch over
it; ``GET /v1/batches/{id}`` reports its status, moving validating -> in_progress -> completed after
``polls_to_finish`` polls (the requests are answered then, each with the cooperative fake model's reply from
:mod:`tests.fakes.fake_openai_server`); ``GET /v1/files/{id}/content`` returns the output or error JSONL.
Faults on demand: chosen custom_ids answered with an HTTP error status (error file), custom_ids left out
of both files (or picked by ``fail_if`` over a request line), or the whole batch ``failed`` / ``expired``;
``hold`` keeps every batch in progress until the test sets it. Counters say what was called, and
``batch_requests`` which custom_ids each batch held (so a test can see that no request was paid twice).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.fakes.fake_openai_server import FakeServerConfig, fake_reply
from tests.fakes.serving import ThreadedServer, free_port


@dataclass
class FakeBatchConfig:
    polls_to_finish: int = 2
    failing_ids: set[str] = field(default_factory=set)  # answered with HTTP 400 in the error file
    missing_ids: set[str] = field(default_factory=set)  # in neither file
    final_status: str = "completed"  # or "failed" / "expired"
    fail_if: Callable[[dict[str, Any]], bool] | None = None  # request lines answered with HTTP 400 too
    hold: threading.Event | None = None  # while set to an unset event, batches stay in_progress
    hold_after: int = 0  # ... all but the first this many batches
    model: FakeServerConfig = field(default_factory=FakeServerConfig)


class FakeBatchServer:
    """``with FakeBatchServer(config) as server:``; ``server.base_url`` ends in /v1."""

    def __init__(self, config: FakeBatchConfig | None = None) -> None:
        self.config = config or FakeBatchConfig()
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.calls: Counter[str] = Counter()
        self.batch_requests: dict[str, list[str]] = {}  # batch id -> the custom_ids it was created with
        self._lock = threading.Lock()
        self.port = free_port()
        self._server: ThreadedServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _new_file(self, content: bytes) -> str:
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = content
        return file_id

    async def _upload(self, request: Request) -> Response:
        form = await request.form()
        upload = form.get("file")
        if form.get("purpose") != "batch" or upload is None or isinstance(upload, str):
            return JSONResponse({"error": {"message": "purpose must be batch, with a file"}}, status_code=400)
        content = await upload.read()
        with self._lock:
            self.calls["upload"] += 1
            file_id = self._new_file(content)
        return JSONResponse(
            {
                "id": file_id,
                "object": "file",
                "bytes": len(content),
                "created_at": int(time.time()),
                "filename": upload.filename or "batch.jsonl",
                "purpose": "batch",
                "status": "processed",
            }
        )

    def _batch_view(self, batch: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in batch.items() if not key.startswith("_")}

    async def _create(self, request: Request) -> Response:
        body = await request.json()
        if body.get("input_file_id") not in self.files:
            return JSONResponse({"error": {"message": "no such input file"}}, status_code=404)
        with self._lock:
            self.calls["create"] += 1
            batch_id = f"batch-{len(self.batches) + 1}"
            lines = self.files[body["input_file_id"]].decode().splitlines()
            self.batch_requests[batch_id] = [json.loads(line)["custom_id"] for line in lines if line]
            self.batches[batch_id] = {
                "id": batch_id,
                "object": "batch",
                "endpoint": body.get("endpoint"),
                "input_file_id": body["input_file_id"],
                "completion_window": body.get("completion_window", "24h"),
                "status": "validating",
                "created_at": int(time.time()),
                "output_file_id": None,
                "error_file_id": None,
                "request_counts": {"total": 0, "completed": 0, "failed": 0},
                "_polls": 0,
            }
        return JSONResponse(self._batch_view(self.batches[batch_id]))

    def _finish(self, batch: dict[str, Any]) -> None:
        lines = [json.loads(line) for line in self.files[batch["input_file_id"]].decode().splitlines() if line]
        if self.config.final_status != "completed":
            batch["status"] = self.config.final_status
            batch["errors"] = {"data": [{"code": self.config.final_status, "message": "the fake batch gave up"}]}
            return
        output, errors = [], []
        for line in lines:
            custom_id = line["custom_id"]
            if custom_id in self.config.missing_ids:
                continue
            picked = self.config.fail_if is not None and self.config.fail_if(line)
            if custom_id in self.config.failing_ids or picked:
                errors.append(
                    {
                        "id": f"r-{custom_id}",
                        "custom_id": custom_id,
                        "error": None,
                        "response": {
                            "status_code": 400,
                            "request_id": "x",
                            "body": {"error": {"message": "invalid request (fake)"}},
                        },
                    }
                )
                continue
            request_body = line["body"]
            prompt = "\n".join(m.get("content", "") for m in request_body.get("messages", []))
            temperature = float(request_body.get("temperature") or 0.0)  # as the live fake reads it
            content = json.dumps(fake_reply(prompt, self.config.model, temperature), ensure_ascii=False)
            completion = {
                "id": f"chatcmpl-{custom_id}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": request_body.get("model", "fake"),
                "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
                ],
                "usage": {
                    "prompt_tokens": len(prompt) // 2,
                    "completion_tokens": len(content) // 2,
                    "total_tokens": (len(prompt) + len(content)) // 2,
                },
            }
            output.append(
                {
                    "id": f"r-{custom_id}",
                    "custom_id": custom_id,
                    "error": None,
                    "response": {"status_code": 200, "request_id": "x", "body": completion},
                }
            )
        batch["status"] = "completed"
        batch["request_counts"] = {"total": len(lines), "completed": len(output), "failed": len(errors)}
        if output:
            batch["output_file_id"] = self._new_file("".join(json.dumps(o) + "\n" for o in output).encode())
        if errors:
            batch["error_file_id"] = self._new_file("".join(json.dumps(e) + "\n" for e in errors).encode())

    async def _retrieve(self, request: Request) -> Response:
        batch_id = request.path_params["batch_id"]
        with self._lock:
            self.calls["retrieve"] += 1
            batch = self.batches.get(batch_id)
            if batch is None:
                return JSONResponse({"error": {"message": f"no batch {batch_id}"}}, status_code=404)
            if batch["status"] in ("validating", "in_progress"):
                batch["_polls"] += 1
                batch["status"] = "in_progress"
                held = self.config.hold is not None and not self.config.hold.is_set()
                held = held and list(self.batches).index(batch_id) >= self.config.hold_after
                if batch["_polls"] >= self.config.polls_to_finish and not held:
                    self._finish(batch)
            return JSONResponse(self._batch_view(batch))

    async def _content(self, request: Request) -> Response:
        file_id = request.path_params["file_id"]
        with self._lock:
            self.calls["content"] += 1
            content = self.files.get(file_id)
        if content is None:
            return JSONResponse({"error": {"message": f"no file {file_id}"}}, status_code=404)
        return PlainTextResponse(content.decode(), media_type="application/jsonl")

    def __enter__(self) -> FakeBatchServer:
        app = Starlette(
            routes=[
                Route("/v1/files", self._upload, methods=["POST"]),
                Route("/v1/batches", self._create, methods=["POST"]),
                Route("/v1/batches/{batch_id}", self._retrieve, methods=["GET"]),
                Route("/v1/files/{file_id}/content", self._content, methods=["GET"]),
            ]
        )
        self._server = ThreadedServer(app, self.port, "fake batch server")
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.stop()
