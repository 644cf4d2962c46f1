"""Dynamic sampling: always-keep, per-trace verdicts, adaptive rate with hysteresis, unbiased counts, emitter hook."""
from __future__ import annotations

import json
import math
from dataclasses import replace
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

import pytest

from logintel.ingest import Emitter, EmitterConfig
from logintel.ingest.policy import SamplingPolicy
from logintel.ingest.sampling import DynamicSampler, keeps
from logintel.simulate import simulate
from tests.support.factories import event
from tests.support.landing import landed_lines


class Clock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def fixed(rate: int, **fields) -> SamplingPolicy:
    return SamplingPolicy(version=3, base_rate=rate, max_rate=rate, **fields)


def feed(sampler: DynamicSampler, clock: Clock, at: datetime, per_s: int, seconds: float) -> None:
    """`per_s` normal events (timestamped `at`) a second for `seconds`, advancing the injected clock (no sleeping)."""
    normal = event(at)
    step = 1.0 / per_s
    for _ in range(int(per_s * seconds)):
        clock.now += step
        sampler.decide(normal)


# -- always kept ----------------------------------------------------------------------------------

def test_errors_slow_and_rule_matches_are_always_kept_at_rate_one(now):
    rules = ({"service": "checkout"}, {"route_prefix": "/admin/"}, {"level": ["warn"]},
             {"attributes": {"tenant": "vip"}}, {"status": [429], "service": "payments"})
    sampler = DynamicSampler(fixed(1000, slow_ms=500.0, always_keep=rules))
    special = [event(now, error_code="E1"), event(now, status=503), event(now, level="fatal"),
               event(now, duration_ms=500.0), event(now, duration_ms=9000.0),
               event(now, service="checkout"), event(now, route="/admin/users"), event(now, level="warn"),
               event(now, tenant="vip"), event(now, status=429)]
    assert all(sampler.decide(e) == (True, 1) for e in special for _ in range(3))
    normal = [event(now, status=429, service="search"), event(now, tenant="free")] + [event(now) for _ in range(500)]
    verdicts = [sampler.decide(e) for e in normal]
    assert all(rate == 1000 for _, rate in verdicts)
    assert sum(keep for keep, _ in verdicts) <= 5  # 1 in 1000 of 502


def test_passthrough_keeps_everything_at_rate_one(now):
    sampler = DynamicSampler()
    assert sampler.policy.version == 0
    assert all(sampler.apply(e) is e for e in (event(now) for _ in range(100)))


# -- per-trace verdicts ---------------------------------------------------------------------------

def test_a_trace_is_kept_or_dropped_whole(now):
    sampler = DynamicSampler(fixed(10))
    verdicts: dict[str, set] = defaultdict(set)
    for t in range(3000):
        for hop in range(5):
            e = event(now, trace_id=f"trace-{t}", route=f"/hop/{hop}")
            verdicts[e.trace_id].add(sampler.decide(e))
    assert all(len(v) == 1 for v in verdicts.values())
    kept = sum(next(iter(v))[0] for v in verdicts.values())
    assert 0.08 < kept / 3000 < 0.12


def test_verdicts_are_nested_and_fall_back_to_event_id(now):
    keys = [f"k{i}" for i in range(5000)]
    at_10 = {k for k in keys if keeps(k, 10)}
    at_100 = {k for k in keys if keeps(k, 100)}
    assert at_100 <= at_10  # raising N only drops traces, never swaps which are kept
    sampler = DynamicSampler(fixed(10))
    base = replace(event(now), trace_id=None)
    for i in range(200):
        e = replace(base, event_id=f"evt-x-{i}")
        assert sampler.decide(e)[0] == keeps(e.event_id, 10)


def test_apply_sets_sample_rate_multiplying_an_upstream_rate(now):
    sampler = DynamicSampler(fixed(10))
    kept = [k for k in (sampler.apply(event(now, sample_rate=3)) for _ in range(400)) if k is not None]
    assert kept and all(k.sample_rate == 30 for k in kept)
    assert sampler.apply(event(now, error_code="E", sample_rate=3)).sample_rate == 3


# -- adaptive rate and hysteresis (injected clock) --------------------------------------------------

def adaptive(clock: Clock, **fields) -> DynamicSampler:
    values = dict(version=1, base_rate=10, max_rate=1000, target_events_per_s=100.0, window_s=10.0,
                  min_hold_s=30.0, hysteresis=2.0, buffer_high_water=0.5)
    values.update(fields)
    return DynamicSampler(SamplingPolicy(**values), clock=clock)


def test_rate_rises_under_load_and_comes_back_down_after_the_hold(now):
    clock = Clock()
    sampler = adaptive(clock)
    feed(sampler, clock, now, per_s=50, seconds=12)
    assert sampler.rate == 10                           # under target: base rate
    feed(sampler, clock, now, per_s=1000, seconds=12)   # 10x the target
    assert 50 <= sampler.rate <= 100                    # ~ base * 10, reached in factor-of-2 steps
    spike_rate = sampler.rate
    feed(sampler, clock, now, per_s=20, seconds=15)     # load gone, window drained, but the hold is 30 s
    assert sampler.rate == spike_rate
    feed(sampler, clock, now, per_s=20, seconds=20)
    assert sampler.rate == 10
    assert sampler.describe()["load_events_per_s"] == pytest.approx(20, rel=0.1)


def test_small_load_changes_do_not_flap_the_rate(now):
    clock = Clock()
    sampler = adaptive(clock, min_hold_s=0.0)
    feed(sampler, clock, now, per_s=300, seconds=12)    # target 30
    settled = sampler.rate
    assert 20 <= settled <= 30
    seen = set()
    for _ in range(6):                                  # wobble +-30% around that load
        feed(sampler, clock, now, per_s=390, seconds=4)
        seen.add(sampler.rate)
        feed(sampler, clock, now, per_s=210, seconds=4)
        seen.add(sampler.rate)
    assert seen == {settled}


def test_buffer_fill_past_high_water_raises_the_rate(now):
    clock = Clock()
    sampler = adaptive(clock, min_hold_s=5.0)
    fill = {"value": 0.0}
    sampler.buffer_fill = lambda: fill["value"]
    feed(sampler, clock, now, per_s=20, seconds=2)
    assert sampler.rate == 10
    fill["value"] = 0.95                                # 90% of the way from high water to full
    feed(sampler, clock, now, per_s=20, seconds=1)
    assert sampler.rate == 91                           # 10 * (1 + 9 * 0.9)
    fill["value"] = 0.1
    feed(sampler, clock, now, per_s=20, seconds=6)
    assert sampler.rate == 10
    sampler.buffer_fill = lambda: 1 / 0                 # a broken gauge reads as empty, emit goes on
    feed(sampler, clock, now, per_s=20, seconds=1)
    assert sampler.rate == 10


def test_a_new_policy_clamps_the_current_rate(now):
    clock = Clock()
    sampler = adaptive(clock)
    feed(sampler, clock, now, per_s=1000, seconds=12)
    assert sampler.rate > 20
    sampler.set_policy(SamplingPolicy(version=2, base_rate=5, max_rate=20))
    assert sampler.rate == 20 and sampler.describe()["version"] == 2


# -- unbiased counts ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stream():
    events = simulate(datetime(2024, 3, 5, 12, tzinfo=timezone.utc), hours=1, seed=11,
                      requests_per_minute=1000).events
    assert len(events) >= 50_000
    return events


def estimate(events, rate: int):
    sampler = DynamicSampler(fixed(rate))
    kept = [k for k in map(sampler.apply, events) if k is not None]
    per_route: Counter = Counter()
    for k in kept:
        per_route[k.route] += k.sample_rate
    return kept, per_route


def standard_error(events, rate: int, route: str | None = None) -> float:
    # Whole traces are kept or dropped, so the variance is (N - 1) * sum over traces of k**2
    # (k: the trace's sampled events); always-kept events add none.
    per_trace: Counter = Counter()
    policy = fixed(rate)
    for e in events:
        if (route is None or e.route == route) and not DynamicSampler.always_keeps(e, policy):
            per_trace[e.trace_id or e.event_id] += 1
    return math.sqrt((rate - 1) * sum(k * k for k in per_trace.values()))


@pytest.mark.parametrize("rate, total_bound", [(10, 0.05), (100, 0.15)])
def test_weighted_counts_estimate_the_true_counts(stream, rate, total_bound):
    kept, per_route = estimate(stream, rate)
    truth = Counter(e.route for e in stream)
    total = sum(k.sample_rate for k in kept)
    assert abs(total - len(stream)) / len(stream) <= total_bound
    sampled = [k for k in kept if k.sample_rate == rate]
    always = len(kept) - len(sampled)
    assert len(sampled) < (len(stream) - always) / rate * 1.5  # it did sample the normal events
    # Errors are always kept, so they are counted exactly, per route too.
    assert sum(k.is_error for k in kept) == sum(e.is_error for e in stream)
    assert Counter(k.route for k in kept if k.is_error) == Counter(e.route for e in stream if e.is_error)
    # Every route's estimate is within 4 standard errors of its true count.
    for route, count in truth.items():
        assert abs(per_route[route] - count) <= 4 * standard_error(stream, rate, route) + 1e-9, route


# -- the emitter hook -------------------------------------------------------------------------

def emitter_config(tmp_path: Path, **overrides) -> EmitterConfig:
    values = {"dump_dir": str(tmp_path / "dumps"), "dead_letter_dir": str(tmp_path / "dl"),
              "transports": [{"type": "files", "dir": str(tmp_path / "landing")}],
              "batch_size": 50, "flush_interval_s": 0.05}
    values.update(overrides)
    return EmitterConfig.from_dict(values)


def landed(root: Path) -> list[dict]:
    return [json.loads(line) for line in landed_lines(root)]


def test_emitter_counts_sampled_out_events_and_keeps_the_invariant(tmp_path, now):
    policy = fixed(10)
    normal = [event(now) for _ in range(2000)]
    errors = [event(now, error_code="E42") for _ in range(40)]
    as_dicts = [event(now).to_record() for _ in range(200)]  # mappings are parsed, then sampled
    expected_kept = sum(keeps(e.trace_id, 10) for e in normal) + sum(keeps(d["trace_id"], 10) for d in as_dicts)
    with Emitter(emitter_config(tmp_path), sampler=DynamicSampler(policy)) as emitter:
        for e in normal + errors + as_dicts:
            emitter.emit(e)
        assert emitter.flush(30)
        stats = emitter.stats()
    assert stats["balanced"] and stats["pending"] == 0
    assert stats["emitted"] == 2240
    assert stats["dropped"] == {"sampled_out": 2200 - expected_kept}
    assert sum(stats["delivered"].values()) == expected_kept + 40
    assert stats["policy"]["version"] == 3 and stats["policy"]["rate"] == 10
    rows = landed(tmp_path / "landing")
    assert len(rows) == expected_kept + 40
    assert Counter(r["sample_rate"] for r in rows) == {10: expected_kept, 1: 40}


def test_emitter_without_a_sampler_reports_no_policy(tmp_path, now):
    with Emitter(emitter_config(tmp_path)) as emitter:
        emitter.emit(event(now))
        assert emitter.flush(30)
        assert emitter.stats()["policy"] is None


def test_emitter_follows_a_policy_file(tmp_path, now):
    path = tmp_path / "policy.yaml"
    path.write_text("version: 4\nbase_rate: 1\nmax_rate: 1\n", encoding="utf-8")
    config = emitter_config(tmp_path, sampling_policy=str(path), policy_poll_s=3600)
    with Emitter(config) as emitter:
        assert emitter.stats()["policy"]["version"] == 4  # applied before the first event
        path.write_text("version: 5\nbase_rate: 1000\nmax_rate: 1000\n", encoding="utf-8")
        assert emitter.policy_client.poll()
        path.write_text("version: 6\nbase_rate: 0\n", encoding="utf-8")  # invalid: ignored
        assert not emitter.policy_client.poll()
        for _ in range(300):
            emitter.emit(event(now))
        assert emitter.flush(30)
        stats = emitter.stats()
    assert stats["policy"]["version"] == 5
    assert "base_rate" in stats["policy"]["client"]["last_error"]
    assert stats["dropped"]["sampled_out"] >= 290 and stats["balanced"]
