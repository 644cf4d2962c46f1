"""Landing a request's events durably through the Emitter, and its rejected records as dead letters.

A request is answered 200 only once every accepted event is durable — delivered to a transport
(the landing zone) or written whole to the local dump, which `logintel replay` brings back — so a
client is never told "done" for events that live only in memory. When the landing path cannot take
more (every transport down and the buffer nearly full or the dump at its disk limit), or the events
are not durable within `wait_s`, the answer is 503 with Retry-After: the client resends the batch,
and the events' ids, derived from the records themselves, make the resent copies one.

An event the emitter would refuse for its own fault (not encodable, or too big once encoded) must
not make that 503: the emitter could only count it lost, the client would resend it for ever, and
each resend would land its good neighbours again. `refusals` finds such events first, by the
emitter's own test, so they are answered as rejected and kept as dead letters instead.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from logintel.events import MAX_RECORD_BYTES, WideEvent
from logintel.ingest.buffer import Item
from logintel.ingest.emitter import Emitter
from logintel.ingest.receipt import Receipt
from logintel.store.dead_letters import DeadLetter, DeadLetterStore

RETRY_AFTER_S = 2


@dataclass(frozen=True)
class LandingOutcome:
    durable: bool
    reason: str = ""     # why not, when not
    retry_after_s: int = RETRY_AFTER_S


class Lander:
    def __init__(self, emitter: Emitter, dead_letters: DeadLetterStore, wait_s: float):
        self.emitter = emitter
        self.dead_letters = dead_letters
        self.wait_s = wait_s

    def refusal(self) -> str | None:
        """Why the landing path cannot take events now, or None."""
        accepting, why = self.emitter.accepting()
        return None if accepting else why

    async def land(self, events: list[WideEvent]) -> LandingOutcome:
        if not events:
            return LandingOutcome(True)
        refusal = self.refusal()
        if refusal:
            return LandingOutcome(False, f"the landing path cannot take more: {refusal}")
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def wake(_receipt: Receipt) -> None:
            loop.call_soon_threadsafe(_resolve, done)

        receipt = Receipt(len(events))
        receipt.add_done_callback(wake)
        # emit_batch encodes every event: CPU work kept off the event loop, like the parsing before it.
        await run_in_threadpool(self.emitter.emit_batch, events, receipt)
        try:
            await asyncio.wait_for(asyncio.shield(done), self.wait_s)
        except TimeoutError:
            return LandingOutcome(False, f"{len(events) - receipt.durable} of {len(events)} events were not durable "
                                  f"within {self.wait_s:g} s (a transport is hanging)")
        if receipt.all_durable:
            return LandingOutcome(True)
        return LandingOutcome(False, f"{receipt.lost} of {len(events)} events could not be made durable "
                              f"(every transport down and the dump refused them)")

    def reject(self, letters: list[DeadLetter]) -> int:
        """Keep rejected records as dead letters; the number kept (0 when the disk refuses them)."""
        if not letters:
            return 0
        try:
            return self.dead_letters.write(letters)
        except OSError:
            return 0


def refusals(events: list[WideEvent], source_of: Callable[[int], str]) -> dict[int, DeadLetter]:
    """The events the emitter would refuse for their own fault, by index, as dead letters (ingest stage,
    `source_of(index)` their source)."""
    letters = {}
    for index, event in enumerate(events):
        try:
            item = Item.of(event)  # the emitter's own encoding: what it would refuse, this refuses
        except (TypeError, ValueError) as exc:
            payload = json.dumps(event.to_record(), default=repr, ensure_ascii=False)
            letters[index] = _refused(source_of(index), "serialization", f"{type(exc).__name__}: {exc}", payload)
            continue
        if item.size > MAX_RECORD_BYTES:
            letters[index] = _refused(source_of(index), "oversized", f"record is {item.size:,} bytes once mapped "
                                      f"to a wide event, over the {MAX_RECORD_BYTES:,}-byte limit", item.line)
    return letters


def _refused(source: str, cause: str, reason: str, payload: str) -> DeadLetter:
    return DeadLetter(stage="ingest", source=source, cause=cause, reason=reason, payload=payload)


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)
