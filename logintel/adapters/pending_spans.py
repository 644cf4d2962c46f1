"""Spans that arrived before their unit of work, held until it comes.

An OpenTelemetry SDK exports a span when it ends, and a child ends before its parent, so a request's calls and
queries often reach us in an earlier export request (an earlier batch, file or minute) than the SERVER span
they belong to. Such a span cannot be summarised onto its unit of work's event yet; instead of being counted
unjoined and forgotten, it is held here, keyed by its trace, and folded in when a later batch brings spans of
the same trace (`span_events.fold_spans`).

The window is documented and bounded: a span is held until a batch arrives whose newest span ends more than
`HOLD` after it ended (its unit of work would have ended by then), and at most `MAX_HELD` spans are held (the
oldest go first); a span let go so (`released`), like one whose unit of work came earlier or never, is kept all
the same: it lands in a carrier event for the spans table (`late_spans`), without its unit's summary.
What is held lives in the process that received it: a child and its parent sent to two receiver workers, or
across a restart, do not meet (the parent's event is landed without that child's summary; the child, once let
go, lands as a late span). A unit of work that arrived before its children has been landed already and is not
reopened: its late children land as late spans.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from logintel.adapters.spans import Span

NS_PER_MINUTE = 60 * 1_000_000_000
HOLD = 10 * NS_PER_MINUTE  # a unit of work ends within 10 minutes of its children (far longer than a timeout)
MAX_HELD = 100_000  # spans; at ~1 KB each, about 100 MB at most


class PendingSpans:
    """The spans waiting for their unit of work, by trace, oldest first; safe to share between threads."""

    def __init__(self, hold_ns: int = HOLD, limit: int = MAX_HELD):
        self.hold_ns, self.limit = hold_ns, limit
        self._traces: OrderedDict[str, list[Span]] = OrderedDict()
        self._count = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._count

    def take(self, trace_ids: set[str]) -> list[Span]:
        """The held spans of these traces, no longer held."""
        with self._lock:
            found = [span for trace in trace_ids for span in self._traces.pop(trace, ())]
            self._count -= len(found)
            return found

    def hold(self, spans: list[Span], newest_end_ns: int) -> list[Span]:
        """Hold `spans`; let go of those that ended more than the window before `newest_end_ns`, and the
        oldest beyond the limit. Returns those let go."""
        with self._lock:
            for span in spans:
                self._traces.setdefault(span.trace_id, []).append(span)
                self._traces.move_to_end(span.trace_id)
            self._count += len(spans)
            return self._expire(newest_end_ns)

    def drain(self) -> list[Span]:
        """Let go of everything held (the end of a file ingest run); returns it."""
        with self._lock:
            released = [span for spans in self._traces.values() for span in spans]
            self._count = 0
            self._traces.clear()
            return released

    def _expire(self, newest_end_ns: int) -> list[Span]:
        released: list[Span] = []
        for trace in list(self._traces):
            spans = self._traces[trace]
            kept = [s for s in spans if s.end_ns >= newest_end_ns - self.hold_ns]
            released.extend(s for s in spans if s.end_ns < newest_end_ns - self.hold_ns)
            if kept:
                self._traces[trace] = kept
            else:
                del self._traces[trace]
        while self._count - len(released) > self.limit and self._traces:
            _, spans = self._traces.popitem(last=False)
            released.extend(spans)
        self._count -= len(released)
        return released
