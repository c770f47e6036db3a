"""Test doubles shared by several test modules: an OpenAI-compatible chat server on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeLLM:
    """What the fake server does with the next requests; ``answer`` reads the user prompt."""

    url: str = ""
    answer: Callable[[str], str] = lambda prompt: ""
    status: int = 200
    body: bytes | None = None  # sent as is instead of a well-formed completion
    delay: float = 0.0  # before the response starts
    piece: int = 3  # characters per streamed chunk
    stall_after: int | None = None  # streamed chunks sent before the stream stalls…
    stall: float | bytes = 0.0  # …for this long, or by sending these bytes as a chunk
    requests: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # a script that failed: the test must fail


def _handler(fake: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            fake.requests.append(request)
            assert self.path == "/v1/chat/completions"
            time.sleep(fake.delay)
            if fake.status != 200 or fake.body is not None:
                body = fake.body or b'{"error": {"message": "boom", "type": "server_error"}}'
                self._send(fake.status, "application/json", body)
                return
            try:
                text = fake.answer(request["messages"][-1]["content"])
            except AssertionError as exc:
                fake.errors.append(str(exc))
                raise
            if request.get("stream"):
                self._stream(text)
            else:
                self._send(200, "application/json", json.dumps(_completion(text)).encode())

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _stream(self, text: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            pieces = [text[i : i + fake.piece] for i in range(0, len(text), fake.piece)]
            self._event(_chunk({"role": "assistant", "content": ""}))
            for n, piece in enumerate(pieces):
                if n == fake.stall_after:
                    if isinstance(fake.stall, bytes):
                        self.wfile.write(fake.stall)
                        self.wfile.flush()
                        return
                    time.sleep(fake.stall)
                self._event(_chunk({"content": piece}))
            self._event(_chunk({}, finish="stop"))
            self.wfile.write(b"data: [DONE]\n\n")

        def _event(self, data: dict[str, Any]) -> None:
            self.wfile.write(f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode())
            self.wfile.flush()

    return Handler


def _completion(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "fake-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
    }


def _chunk(delta: dict[str, str], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "fake-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the client hanging up on a slow response is what the timeout tests do


def start_fake_llm() -> tuple[FakeLLM, _Server]:
    """A scripted fake LLM served on a free loopback port (call ``server.serve_forever``)."""
    fake = FakeLLM()
    server = _Server(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    return fake, server
