"""A small OpenAI-compatible server on 127.0.0.1 for tests: chat completions and embeddings, scripted.

The hosted LLM is the one network edge we cannot run here, so tests drive the real `openai` client
against this instead; it records what left the process and answers with realistic envelopes.
"""
from __future__ import annotations

import base64
import hashlib
import itertools
import json
import math
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Union

import pytest

from logintel.config import LLMConfig

CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")
EMBEDDING_PATHS = ("/v1/embeddings", "/embeddings")
EMBEDDING_DIMENSIONS = 16


@dataclass(frozen=True)
class Reply:
    """A 200 whose message content is `data` as JSON."""
    data: dict
    cached_tokens: int = 0
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Raw:
    """A 200 whose message content is `content` verbatim (fenced JSON, prose, broken JSON...)."""
    content: str
    cached_tokens: int = 0
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Status:
    """An error status with an OpenAI-style error body; `retry_after` becomes the Retry-After header."""
    code: int
    retry_after: float | None = None
    message: str | None = None


@dataclass(frozen=True)
class Delay:
    """Wait `seconds` (longer than the client's timeout, say), then answer with `then` or the default."""
    seconds: float
    then: "Behaviour | None" = None


@dataclass(frozen=True)
class Disconnect:
    """Close the connection without answering."""


@dataclass(frozen=True)
class ToolCall:
    """A 200 whose assistant message calls the tool `name` with `arguments` (finish_reason "tool_calls")."""
    name: str
    arguments: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ToolCalls:
    """A 200 whose assistant message calls several tools at once."""
    calls: tuple[ToolCall, ...]


Behaviour = Union[Reply, Raw, Status, Delay, Disconnect, ToolCall, ToolCalls]


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    headers: dict[str, str]  # names lower-cased: the client sends them so
    body: dict


def estimate_tokens(text: str) -> int:
    """About four characters a token, as OpenAI's own rule of thumb has it."""
    return max(1, math.ceil(len(text) / 4))


def example_for_schema(schema: dict):
    """A minimal object that conforms to `schema`, so the default reply fits whatever was asked."""
    if "anyOf" in schema:
        return example_for_schema(schema["anyOf"][0])
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((name for name in kind if name != "null"), "null")
    if kind == "object":
        return {key: example_for_schema(sub) for key, sub in schema.get("properties", {}).items()}
    if kind == "array":
        count = min(max(schema.get("minItems", 1), 1), schema.get("maxItems", 1))
        return [example_for_schema(schema.get("items", {"type": "string"})) for _ in range(count)]
    return {"string": "fake", "integer": 0, "number": 0.0, "boolean": False, "null": None}[kind]


def schema_responder(request: dict) -> dict:
    """The default: an object that fits the request's json_schema response format."""
    response_format = request.get("response_format") or {}
    schema = (response_format.get("json_schema") or {}).get("schema")
    return example_for_schema(schema) if schema else {"text": "fake"}


class FakeLLMServer:
    def __init__(self, responder: Callable[[dict], dict] = schema_responder):
        self.responder = responder
        self.received: list[ReceivedRequest] = []
        self.usage_sent: list[dict] = []  # the `usage` of every completion answered, in order
        self._script: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def requests(self) -> list[dict]:
        """Every request body received, in order."""
        with self._lock:
            return [received.body for received in self.received]

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._script)

    def script(self, behaviours: list[Behaviour]) -> "FakeLLMServer":
        """Answer the next requests with these, in order, then go back to the default responder."""
        with self._lock:
            self._script = deque(behaviours)
        return self

    def config(self, **overrides) -> LLMConfig:
        """An LLMConfig pointed at this server, quick to give up so tests stay fast."""
        settings = dict(base_url=self.base_url, api_key="test-key", model="gpt-4o-mini", timeout_s=5.0,
                        max_retries=2)
        return LLMConfig(**{**settings, **overrides})

    def start(self) -> "FakeLLMServer":
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        # A short poll keeps stop() (and so each test's teardown) from waiting the default half second.
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="fake-llm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes any Delay still waiting
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)

    def _receive(self, received: ReceivedRequest) -> Behaviour | None:
        with self._lock:
            self.received.append(received)
            return self._script.popleft() if self._script else None

    def _chat_completion(self, request: dict, content: str | None, cached_tokens: int, finish_reason: str,
                         tool_calls: list[dict] | None = None) -> dict:
        prompt_text = "".join(_text_of(message.get("content")) for message in request.get("messages", []))
        if request.get("tools"):  # a real API bills the tools' definitions as prompt too
            prompt_text += json.dumps(request["tools"])
        prompt_tokens = estimate_tokens(prompt_text)
        completion_tokens = estimate_tokens(content if content is not None else json.dumps(tool_calls))
        message = {"role": "assistant", "content": content, "refusal": None}
        if tool_calls:
            message["tool_calls"] = tool_calls
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": min(cached_tokens, prompt_tokens), "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        }
        with self._lock:
            self.usage_sent.append(usage)
        return {
            "id": f"chatcmpl-fake{next(self._ids):06d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", "fake"),
            "choices": [{"index": 0, "finish_reason": finish_reason, "logprobs": None, "message": message}],
            "usage": usage,
            "system_fingerprint": "fp_fake",
            "service_tier": "default",
        }

    def _embeddings(self, request: dict) -> dict:
        texts = request.get("input", [])
        texts = [texts] if isinstance(texts, str) else texts
        dimensions = request.get("dimensions") or EMBEDDING_DIMENSIONS
        vectors = [_vector(str(text), dimensions) for text in texts]
        if request.get("encoding_format") == "base64":  # what the openai client asks for by default
            vectors = [base64.b64encode(struct.pack(f"<{len(v)}f", *v)).decode() for v in vectors]
        data = [{"object": "embedding", "index": i, "embedding": vector} for i, vector in enumerate(vectors)]
        tokens = sum(estimate_tokens(str(text)) for text in texts)
        return {"object": "list", "data": data, "model": request.get("model", "fake"),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def _text_of(content) -> str:
    if isinstance(content, list):  # content parts
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def _vector(text: str, dimensions: int) -> list[float]:
    """Deterministic and unit-length, so equal texts embed equally and cosine similarity is meaningful."""
    raw = b"".join(hashlib.sha256(f"{text}#{block}".encode()).digest() for block in range(dimensions // 8 + 1))
    values = [value / 2**31 for value in struct.unpack(f"<{dimensions}i", raw[:4 * dimensions])]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler still in a Delay must not hold up stop()
    fake: FakeLLMServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the openai client expects
    server: _HTTPServer

    def log_message(self, format, *args) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            self._send_json(400, {"error": {"message": "request body is not JSON", "type": "invalid_request_error"}})
            return
        path = self.path.split("?")[0].rstrip("/")
        if path not in CHAT_PATHS + EMBEDDING_PATHS:
            self._send_json(404, {"error": {"message": f"no route {path}", "type": "invalid_request_error"}})
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        behaviour = fake._receive(ReceivedRequest(path=path, headers=headers, body=body))
        try:
            self._perform(behaviour, path, body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timed out) before we answered

    def _perform(self, behaviour: Behaviour | None, path: str, body: dict) -> None:
        fake = self.server.fake
        if isinstance(behaviour, Delay):
            if fake._stopping.wait(behaviour.seconds):
                return
            behaviour = behaviour.then
        if isinstance(behaviour, Disconnect):
            self.close_connection = True
            return
        if isinstance(behaviour, Status):
            kind = "rate_limit_exceeded" if behaviour.code == 429 else (
                "server_error" if behaviour.code >= 500 else "invalid_request_error")
            headers = {} if behaviour.retry_after is None else {"Retry-After": f"{behaviour.retry_after:g}"}
            message = behaviour.message or f"fake {behaviour.code}"
            self._send_json(behaviour.code, {"error": {"message": message, "type": kind, "param": None,
                                                       "code": None}}, headers)
            return
        if path in EMBEDDING_PATHS:
            self._send_json(200, fake._embeddings(body))
            return
        if isinstance(behaviour, (ToolCall, ToolCalls)):
            calls = behaviour.calls if isinstance(behaviour, ToolCalls) else (behaviour,)
            tool_calls = [{"id": f"call_fake{next(fake._ids):06d}", "type": "function",
                           "function": {"name": call.name, "arguments": json.dumps(call.arguments)}}
                          for call in calls]
            self._send_json(200, fake._chat_completion(body, None, 0, "tool_calls", tool_calls))
            return
        if isinstance(behaviour, Reply):
            content, cached, finish = json.dumps(behaviour.data), behaviour.cached_tokens, behaviour.finish_reason
        elif isinstance(behaviour, Raw):
            content, cached, finish = behaviour.content, behaviour.cached_tokens, behaviour.finish_reason
        else:
            content, cached, finish = json.dumps(fake.responder(body)), 0, "stop"
        self._send_json(200, fake._chat_completion(body, content, cached, finish))

    def _send_json(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def fake_llm():
    """A running FakeLLMServer for one test; `fake_llm.config()` points an LLMConfig at it."""
    server = FakeLLMServer().start()
    try:
        yield server
    finally:
        server.stop()
