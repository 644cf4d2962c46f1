"""The one door to an LLM: schema-checked JSON out, bounded retries, the offline writer as fallback.

Every call, answered or not, leaves a CallRecord (tokens, cost, latency, attempts) in the CallLog. Every message
of every call is redacted here, just before it is sent (`logintel.llm.outgoing`), whoever built the prompt.
"""
from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Callable, Mapping

import openai

from logintel.llm.call_log import FALLBACK, OK, CallLog, CallRecord
from logintel.config import LLMConfig
from logintel.llm.offline import OFFLINE_WRITER
from logintel.llm.outgoing import redact_messages, restore
from logintel.llm.prices import PriceTable
from logintel.llm.redaction import Redactor

logger = logging.getLogger("logintel.llm")

BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 8.0


@dataclass(frozen=True)
class LLMRequest:
    prompt_name: str
    prompt_version: str
    system: str
    user: str
    schema: dict  # JSON schema of the expected object (top-level "type": "object")
    schema_name: str
    offline: Callable[[], dict]  # the deterministic writer of an object of the same schema
    max_output_tokens: int = 400

    def __post_init__(self) -> None:
        if self.schema.get("type") != "object":
            raise ValueError(f"prompt {self.prompt_name}: the schema must describe an object at the top level")


@dataclass
class LLMResult:
    data: dict
    writer: str  # "offline/v1" or "openai:<model>"
    fallback_reason: str | None
    record: CallRecord


@dataclass
class ChatTurn:
    completion: object | None  # the openai ChatCompletion, None when the endpoint failed
    record: CallRecord
    failure: str | None


@dataclass(frozen=True)
class _Named:
    """What a CallRecord needs to know of a call that is not an LLMRequest."""
    prompt_name: str
    prompt_version: str


@dataclass(frozen=True)
class _Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0


class _EndpointFailure(Exception):
    def __init__(self, reason: str, attempts: int):
        super().__init__(reason)
        self.attempts = attempts


class _UnusableAnswer(Exception):
    pass


class LLMGateway:
    def __init__(self, config: LLMConfig, recorder: CallLog | None = None, clock=time.perf_counter, *,
                 sleep: Callable[[float], None] = time.sleep, prices: PriceTable | None = None,
                 jitter: Callable[[], float] = random.random, redactor: Redactor | None = None):
        self.config = config
        # One built with the configured secret keeps pseudonyms stable across runs (LOGINTEL_REDACTION_SECRET).
        self.redactor = redactor if redactor is not None else Redactor()
        self.recorder = recorder if recorder is not None else CallLog()
        self.prices = prices if prices is not None else PriceTable.for_path(config.price_table)
        self._clock = clock
        self._sleep = sleep  # injectable so tests can check backoff without waiting for it
        self._jitter = jitter
        self._client: openai.OpenAI | None = None
        self._client_lock = threading.Lock()

    @property
    def writer(self) -> str:
        """The writer a successful call is labelled with."""
        return f"openai:{self.config.model}" if self.config.configured else OFFLINE_WRITER

    def complete(self, request: LLMRequest) -> LLMResult:
        started_at, start = datetime.now(timezone.utc), self._clock()
        if not self.config.configured:
            # The embedded default, not a failure worth a warning.
            return self._fallback(request, started_at, start, "no endpoint configured", attempts=0,
                                  usage=_Usage(), model=None)
        model = self.config.model
        try:
            completion, attempts = self._create(request)
        except _EndpointFailure as failure:
            return self._fallback(request, started_at, start, str(failure), failure.attempts, _Usage(), model)
        # Tokens spent on an unusable answer were still paid for, so usage is kept on fallback too.
        usage = _usage_of(completion)
        priced_as = completion.model if self.prices.known(completion.model) else model
        try:
            data = _answer_of(completion, request.schema)
        except _UnusableAnswer as problem:
            return self._fallback(request, started_at, start, str(problem), attempts, usage, model, priced_as)
        data = restore(data, self.redactor)  # the addresses and accounts it repeats, as the reader knows them
        record = self._record(request, started_at, start, f"openai:{model}", model, usage, attempts, OK, None,
                              priced_as)
        return LLMResult(data=data, writer=record.writer, fallback_reason=None, record=record)

    def chat(self, prompt_name: str, prompt_version: str, arguments: dict, max_output_tokens: int = 400) -> "ChatTurn":
        """One raw chat completion (messages, tools, ... in `arguments`), retried like `complete` and recorded
        in the CallLog either way; the caller judges the answer. Without an endpoint, nothing is sent."""
        started_at, start = datetime.now(timezone.utc), self._clock()
        named = _Named(prompt_name, prompt_version)
        if not self.config.configured:
            record = self._record(named, started_at, start, OFFLINE_WRITER, None, _Usage(), 0, FALLBACK,
                                  "no endpoint configured", None)
            return ChatTurn(None, record, "no endpoint configured")
        model = self.config.model
        try:
            completion, attempts = self._create_with(
                prompt_name, {**arguments, **_sampling_arguments(model, max_output_tokens)})
        except _EndpointFailure as failure:
            record = self._record(named, started_at, start, OFFLINE_WRITER, model, _Usage(), failure.attempts,
                                  FALLBACK, str(failure), model)
            return ChatTurn(None, record, str(failure))
        priced_as = completion.model if self.prices.known(completion.model) else model
        record = self._record(named, started_at, start, f"openai:{model}", model, _usage_of(completion), attempts,
                              OK, None, priced_as)
        return ChatTurn(completion, record, None)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def _fallback(self, request: LLMRequest, started_at: datetime, start: float, reason: str, attempts: int,
                  usage: _Usage, model: str | None, priced_as: str | None = None) -> LLMResult:
        if model is not None:
            logger.warning("LLM prompt %s v%s fell back to %s (model %s): %s",
                           request.prompt_name, request.prompt_version, OFFLINE_WRITER, model, reason)
        data = request.offline()
        record = self._record(request, started_at, start, OFFLINE_WRITER, model, usage, attempts, FALLBACK, reason,
                              priced_as or model)
        return LLMResult(data=data, writer=OFFLINE_WRITER, fallback_reason=reason, record=record)

    def _record(self, request: LLMRequest, started_at: datetime, start: float, writer: str, model: str | None,
                usage: _Usage, attempts: int, outcome: str, reason: str | None, priced_as: str | None) -> CallRecord:
        record = CallRecord(
            call_id=uuid.uuid4().hex, started_at=started_at, prompt_name=request.prompt_name,
            prompt_version=request.prompt_version, writer=writer, model=model,
            latency_ms=(self._clock() - start) * 1000.0, prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens, cached_tokens=usage.cached_tokens,
            cost_usd=self.prices.cost(priced_as, usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens)
            if priced_as else 0.0,
            attempts=attempts, outcome=outcome, fallback_reason=reason)
        self.recorder.append(record)
        return record

    def _client_for_endpoint(self) -> openai.OpenAI:
        with self._client_lock:
            if self._client is None:
                self._client = openai.OpenAI(
                    base_url=self.config.endpoint,
                    # Local OpenAI-compatible servers ignore the key, but the client insists on one.
                    api_key=self.config.api_key or "unused",
                    timeout=self.config.timeout_s,
                    max_retries=0,  # retries are ours, so that they are counted and bounded here
                )
            return self._client

    def _create(self, request: LLMRequest):
        return self._create_with(request.prompt_name, dict(
            messages=[{"role": "system", "content": request.system},
                      {"role": "user", "content": request.user}],
            response_format={"type": "json_schema", "json_schema": {
                "name": request.schema_name, "schema": request.schema, "strict": True}},
            **_sampling_arguments(self.config.model, request.max_output_tokens)))

    def _create_with(self, prompt_name: str, arguments: dict):
        """One chat completion with these arguments (besides the model), its messages redacted, retried when it
        is worth it."""
        arguments = {**arguments, "messages": redact_messages(arguments.get("messages") or [], self.redactor)}
        client = self._client_for_endpoint()
        last_attempt = self.config.max_retries + 1
        for attempt in range(1, last_attempt + 1):
            server_hint = None
            try:
                completion = client.chat.completions.create(model=self.config.model, **arguments)
                return completion, attempt
            except openai.APIStatusError as exc:
                problem = f"HTTP {exc.status_code}"
                if not _retryable(exc.status_code):
                    raise _EndpointFailure(f"endpoint refused the request: {problem} ({_error_message(exc)})",
                                           attempt) from None
                server_hint = _retry_after_s(exc.response.headers)
            except openai.APITimeoutError:
                problem = f"timed out after {self.config.timeout_s:g} s"
            except openai.APIConnectionError as exc:
                problem = f"connection error ({exc.__cause__ or exc})"
            except openai.OpenAIError as exc:  # e.g. a 200 whose body is not a chat completion
                raise _EndpointFailure(f"unusable response from endpoint: {exc}", attempt) from None
            if attempt == last_attempt:
                plural = "s" if attempt != 1 else ""
                raise _EndpointFailure(f"endpoint failed after {attempt} attempt{plural}: {problem}", attempt)
            delay = self._backoff_s(attempt, server_hint)
            logger.info("LLM prompt %s: %s, retry %d of %d in %.2f s", prompt_name, problem, attempt,
                        self.config.max_retries, delay)
            self._sleep(delay)
        raise AssertionError("unreachable")

    def _backoff_s(self, attempt: int, server_hint: float | None) -> float:
        if server_hint is not None:
            return min(server_hint, BACKOFF_CAP_S)  # the server knows when it will take us back
        ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1))
        # Half fixed, half random: spreads concurrent callers apart without ever retrying at once.
        return ceiling / 2 + ceiling / 2 * self._jitter()


def _retryable(status: int) -> bool:
    # 408 is a server-side timeout, as transient as a 5xx.
    return status in (408, 429) or status >= 500


def _retry_after_s(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked us to wait: retry-after-ms (OpenAI), or Retry-After as seconds or a date."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000.0, 0.0)
        except ValueError:
            pass
    return parse_retry_after(headers.get("retry-after"), datetime.now(timezone.utc))


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """A Retry-After header, as seconds or as an HTTP date, in seconds from `now` (None if absent or unreadable)."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max((when - now).total_seconds(), 0.0)


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)  # OpenAI nests it under "error"; some servers do not
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:200]
    return str(exc)[:200]


def _usage_of(completion) -> _Usage:
    usage = getattr(completion, "usage", None)
    if usage is None:
        return _Usage()
    details = getattr(usage, "prompt_tokens_details", None)
    return _Usage(prompt_tokens=usage.prompt_tokens or 0, completion_tokens=usage.completion_tokens or 0,
                  cached_tokens=(getattr(details, "cached_tokens", None) or 0) if details else 0)


def _answer_of(completion, schema: dict) -> dict:
    """The completion's JSON object, checked against the schema; raises _UnusableAnswer saying why not."""
    if not completion.choices:
        raise _UnusableAnswer("response has no choices")
    choice = completion.choices[0]
    refusal = getattr(choice.message, "refusal", None)
    if refusal:
        raise _UnusableAnswer(f"model refused: {refusal[:200]}")
    content = choice.message.content
    if not content or not content.strip():
        raise _UnusableAnswer("empty message content")
    try:
        data = parse_json_object(content)
    except ValueError as exc:
        truncated = " (output cut at max_output_tokens)" if choice.finish_reason == "length" else ""
        raise _UnusableAnswer(f"{exc}{truncated}") from None
    errors = schema_errors(schema, data)
    if errors:
        more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
        raise _UnusableAnswer("schema-invalid JSON: " + "; ".join(errors[:5]) + more)
    return data


def parse_json_object(content: str):
    """JSON from a model's message, with one cheap repair: keep from the first `{` to the last `}`.

    That single cut removes markdown code fences and chatter around the object; anything worse is
    not worth guessing at, since the offline writer is always there.
    """
    try:
        return json.loads(content)
    except json.JSONDecodeError as exc:
        first_error = exc
    start, end = content.find("{"), content.rfind("}")
    if 0 <= start < end:
        try:
            return json.loads(content[start:end + 1])
        except json.JSONDecodeError:
            pass
    raise ValueError(f"malformed JSON ({first_error.msg} at char {first_error.pos}): {content[:80]!r}")


_TYPE_CHECKS: dict[str, Callable[[object], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    # bool is an int in Python but not in JSON.
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: not isinstance(v, bool) and (
        isinstance(v, int) or isinstance(v, float) and v.is_integer()),
    "number": lambda v: not isinstance(v, bool) and isinstance(v, (int, float)),
    "null": lambda v: v is None,
}


def schema_errors(schema: dict, value, path: str = "$") -> list[str]:
    """What is wrong with `value` under the JSON-schema subset our prompts use; [] when it conforms.

    Supported: type (one or a list), enum, const, anyOf, properties, required, additionalProperties
    (false or a schema), items, minItems, maxItems. Other keywords are ignored.
    """
    if "anyOf" in schema:
        if not any(not schema_errors(option, value, path) for option in schema["anyOf"]):
            return [f"{path}: matches none of the allowed shapes"]
    expected = schema.get("type")
    if expected is not None:
        names = expected if isinstance(expected, list) else [expected]
        unknown = [name for name in names if name not in _TYPE_CHECKS]
        if unknown:
            raise ValueError(f"schema at {path} uses unsupported type {unknown[0]!r}")
        if not any(_TYPE_CHECKS[name](value) for name in names):
            return [f"{path}: expected {' or '.join(names)}, got {_json_type(value)}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: {value!r} is not one of {schema['enum']}"]
    if "const" in schema and value != schema["const"]:
        return [f"{path}: expected {schema['const']!r}"]
    if isinstance(value, dict):
        return _object_errors(schema, value, path)
    if isinstance(value, list):
        return _array_errors(schema, value, path)
    return []


def _object_errors(schema: dict, value: dict, path: str) -> list[str]:
    errors = [f"{path}: missing required key {key!r}" for key in schema.get("required", []) if key not in value]
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in properties:
            errors += schema_errors(properties[key], item, f"{path}.{key}")
        elif extra is False:
            errors.append(f"{path}: unexpected key {key!r}")
        elif isinstance(extra, dict):
            errors += schema_errors(extra, item, f"{path}.{key}")
    return errors


def _array_errors(schema: dict, value: list, path: str) -> list[str]:
    errors = []
    if "minItems" in schema and len(value) < schema["minItems"]:
        errors.append(f"{path}: expected at least {schema['minItems']} items, got {len(value)}")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        errors.append(f"{path}: expected at most {schema['maxItems']} items, got {len(value)}")
    if isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            errors += schema_errors(schema["items"], item, f"{path}[{index}]")
    return errors


def _json_type(value) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _TYPE_CHECKS[name](value):
            return name
    return type(value).__name__


def _sampling_arguments(model: str, max_output_tokens: int) -> dict:
    """Reasoning models (o1, o3, o4-mini, …) refuse `max_tokens` and a fixed temperature."""
    name = model.rsplit("/", 1)[-1]
    if len(name) > 1 and name[0] == "o" and name[1].isdigit():
        return {"max_completion_tokens": max_output_tokens}
    return {"max_tokens": max_output_tokens, "temperature": 0}
