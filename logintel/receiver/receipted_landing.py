"""Landing a request's events durably through the Emitter, and its rejected records as dead letters.

A request is answered 200 only once every accepted event is durable — delivered to a transport
(the landing zone) or written whole to the local dump, which `logintel replay` brings back — so a
client is never told "done" for events that live only in memory. When the landing path cannot take
more (every transport down and the buffer nearly full or the dump at its disk limit), or the events
are not durable within `wait_s`, the answer is 503 with Retry-After: the client resends the batch,
and the events' ids, derived from the records themselves, make the resent copies one.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

from logintel.events import WideEvent
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
        self.emitter.emit_batch(events, receipt)
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


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)
