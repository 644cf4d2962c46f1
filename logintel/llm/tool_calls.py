"""A bounded tool-calling conversation through the gateway: the model calls local tools until it answers as
JSON, within a budget of model turns and of tokens; every turn leaves a CallRecord in the gateway's log."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

from logintel.llm.gateway import LLMGateway, parse_json_object, schema_errors

MAX_TOOL_CHARS = 8000  # one tool's answer, about 2,000 tokens
MAX_OUTPUT_TOKENS = 700


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict  # JSON schema of the arguments object
    run: Callable[[dict], str]  # the answer the model reads, as text

    def spec(self) -> dict:
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}


@dataclass
class ToolRun:
    answer: dict | None  # the final JSON object, None when the loop gave up
    failure: str | None  # why it gave up
    steps: int = 0       # model turns that reached the endpoint
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    tool_calls: list[tuple[str, dict]] = field(default_factory=list)
    endpoint_failed: bool = False  # the gateway recorded the failure already

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def run_tools(gateway: LLMGateway, *, prompt_name: str, prompt_version: str, system: str, user: str,
              tools: list[Tool], answer_schema: dict, max_steps: int, max_tokens: int,
              max_output_tokens: int = MAX_OUTPUT_TOKENS) -> ToolRun:
    """Turns of model and tools until the model's message is a JSON object fitting `answer_schema`.

    Gives up (answer None, failure saying why) when the endpoint fails, a turn would start with the token
    budget spent or ends past it, `max_steps` turns pass without an answer, or the answer is unusable."""
    by_name = {tool.name: tool for tool in tools}
    run = ToolRun(answer=None, failure=None)
    messages: list[dict] = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    response_format = {"type": "json_schema", "json_schema": {"name": f"{prompt_name}_answer",
                                                              "schema": answer_schema, "strict": True}}
    for step in range(1, max_steps + 1):
        remaining = max_tokens - run.tokens
        if remaining <= 0:
            run.failure = f"token budget of {max_tokens} spent ({run.tokens} tokens) before an answer"
            return run
        last = step == max_steps
        # On the last allowed turn the model may only answer: asking for "none" saves a wasted tool round.
        arguments = {"messages": messages, "tools": [t.spec() for t in tools],
                     "tool_choice": "none" if last else "auto", "response_format": response_format}
        turn = gateway.chat(prompt_name, prompt_version, arguments, min(max_output_tokens, remaining))
        _account(run, turn.record)
        if turn.completion is None:
            run.failure, run.endpoint_failed = turn.failure, True
            return run
        run.steps = step
        if run.tokens > max_tokens:
            run.failure = f"token budget of {max_tokens} exceeded ({run.tokens} tokens after {step} turns)"
            return run
        if not turn.completion.choices:
            run.failure = "response has no choices"
            return run
        message = turn.completion.choices[0].message
        if message.tool_calls:
            if last:
                run.failure = f"step budget of {max_steps} model turns spent with the model still calling tools"
                return run
            messages.append({"role": "assistant", "content": message.content, "tool_calls": [
                {"id": c.id, "type": "function", "function": {"name": c.function.name,
                                                              "arguments": c.function.arguments}}
                for c in message.tool_calls]})
            for call in message.tool_calls:
                messages.append({"role": "tool", "tool_call_id": call.id,
                                 "content": _call_tool(by_name, call.function.name, call.function.arguments, run)})
            continue
        run.answer, run.failure = _final(message, answer_schema)
        return run
    run.failure = f"step budget of {max_steps} model turns spent"  # only when max_steps < 1
    return run


def _account(run: ToolRun, record) -> None:
    run.prompt_tokens += record.prompt_tokens
    run.completion_tokens += record.completion_tokens
    run.cost_usd += record.cost_usd
    run.latency_ms += record.latency_ms


def _call_tool(by_name: dict[str, Tool], name: str, raw_arguments: str | None, run: ToolRun) -> str:
    """The tool's answer; a mistake of the model's (unknown tool, bad arguments) is told to it, not raised."""
    try:
        arguments = json.loads(raw_arguments or "{}")
    except json.JSONDecodeError:
        arguments = None
    if not isinstance(arguments, dict):
        return json.dumps({"error": "arguments must be a JSON object"})
    run.tool_calls.append((name, arguments))
    tool = by_name.get(name)
    if tool is None:
        return json.dumps({"error": f"no tool {name!r}; tools: {', '.join(by_name)}"})
    errors = schema_errors(tool.parameters, arguments)
    if errors:
        return json.dumps({"error": "; ".join(errors[:3])})
    return tool.run(arguments)[:MAX_TOOL_CHARS]


def _final(message, schema: dict) -> tuple[dict | None, str | None]:
    if getattr(message, "refusal", None):
        return None, f"model refused: {message.refusal[:200]}"
    if not message.content or not message.content.strip():
        return None, "empty final message"
    try:
        data = parse_json_object(message.content)
    except ValueError as problem:
        return None, f"unusable final answer: {problem}"
    errors = schema_errors(schema, data)
    if errors:
        return None, "unusable final answer: " + "; ".join(errors[:3])
    return data, None
