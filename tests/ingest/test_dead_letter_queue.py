"""The dead-letter queue on real files: classes and retry policy, retry delivering or keeping, purge, CLI."""
import json
from datetime import datetime, timedelta, timezone

import pytest

from logintel.store.dead_letters import DeadLetter, DeadLetterStore
from logintel.ingest.dead_letter_queue import DeadLetterQueue, RetryPolicy, classify
from logintel.store.landing_files import FileLandingZone
from tests.support.cli import cli
from tests.support.factories import event

H = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)


def letter(cause, payload, reason="bad"):
    return DeadLetter(stage="ingest", source="f.jsonl:1", cause=cause, reason=reason, payload=payload)


@pytest.fixture
def store(tmp_path):
    return DeadLetterStore(tmp_path / "deadletters")


@pytest.fixture
def later(now):
    """A day after the test started: every backoff has passed by then."""
    return now + timedelta(days=1)


@pytest.mark.parametrize("cause, name, field, retriable", [
    ("validation:status", "validation", "status", False),
    ("invalid_json", "serialization", None, False),
    ("encoding", "serialization", None, False),
    ("torn_line", "serialization", None, False),
    ("oversized", "oversized", None, False),
    ("transport_unavailable", "transport_unavailable", None, True),
    ("transport_unavailable:postgres", "transport_unavailable", None, True),
    ("auth", "auth", None, False),
    ("permission_denied", "auth", None, False),
    ("something_new", "unknown", None, True),
])
def test_every_cause_has_a_class_and_a_policy(cause, name, field, retriable):
    cls = classify(cause)
    assert (cls.name, cls.field, cls.retriable) == (name, field, retriable)


def test_backoff_is_exponential_capped_and_parks_after_max_attempts():
    policy = RetryPolicy(base_delay=timedelta(minutes=1), factor=2, max_delay=timedelta(minutes=10), max_attempts=5)
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5)] == [timedelta(minutes=m) for m in (1, 2, 4, 8, 10)]
    assert policy.next_attempt_at(3, H) == H + timedelta(minutes=4)


def test_old_records_read_with_defaults(store):
    store.write([letter("transport_unavailable", "{}")])
    [queued] = DeadLetterQueue(store).letters()
    assert queued.attempts == 1 and queued.first_error_at == queued.last_error_at
    assert queued.next_attempt_at(RetryPolicy()) == queued.last_error_at + timedelta(minutes=1)
    assert DeadLetterQueue(store).letters()[0].next_attempt_at(RetryPolicy(max_attempts=1)) is None


def test_retry_delivers_what_now_passes_and_keeps_what_still_fails(store, tmp_path, later):
    good = event(H + timedelta(minutes=3))
    bad = json.dumps({"event_id": "x", "timestamp": "2026-11-23T10:00:00Z", "service": "s", "route": "/",
                      "duration_ms": "slow", "level": "info"})
    store.write([letter("transport_unavailable", good.to_json()), letter("unknown", bad)])
    zone = FileLandingZone(tmp_path / "landing")
    queue = DeadLetterQueue(store)
    report = queue.retry(zone, now=later)
    assert (report.considered, report.delivered, report.still_failing) == (2, 1, 1)
    assert zone.read_hour(H).lines == [good.to_json()]
    [kept] = queue.letters()
    assert kept.attempts == 2 and kept.cause == "validation:duration_ms"
    assert kept.record["last_error_at"] == later.isoformat()
    assert kept.first_error_at < kept.last_error_at
    assert kept.record["next_attempt_at"] is None  # now a validation failure: parked until a fix
    # Retrying again lands nothing twice and leaves the parked letter alone.
    again = queue.retry(zone, now=later)
    assert (again.considered, again.parked) == (0, 1)
    assert len(zone.read_hour(H).lines) == 1


def test_parked_letters_wait_for_all_and_backoff_is_respected(store, tmp_path, now):
    fixed = event(H).to_json()  # e.g. the parser was fixed: the payload now passes
    store.write([letter("validation:timestamp", fixed), letter("transport_unavailable", event(H).to_json())])
    zone = FileLandingZone(tmp_path / "landing")
    queue = DeadLetterQueue(store)
    early = queue.retry(zone, now=now - timedelta(hours=1))
    assert (early.considered, early.parked, early.not_due) == (0, 1, 1)
    everything = queue.retry(zone, include_parked=True)
    assert everything.delivered == 2 and queue.letters() == []
    assert not list((store.root).glob("*/*.jsonl"))  # emptied files are removed


def test_purge_by_cause_and_age(store, later):
    store.write([letter("invalid_json", "{"), letter("oversized", "x"), letter("validation:route", "{}")])
    queue = DeadLetterQueue(store)
    assert queue.purge(cause="invalid_json") == 1
    assert queue.purge(older_than=timedelta(days=1)) == 0
    assert queue.purge(older_than=timedelta(days=1), now=later + timedelta(days=1)) == 2
    assert queue.letters() == []


@pytest.mark.subprocess
def test_cli_list_json_and_purge(tmp_path):
    home = tmp_path / "home"
    store = DeadLetterStore(home / "deadletters")
    store.write([letter("validation:status", "{}", reason="status: not an int"), letter("torn_line", '{"ev'),
                 letter("torn_line", '{"x')])
    out = cli(home, "dlq", "list", "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["total"] == 3 and summary["by_class"] == {"validation": 1, "serialization": 2}
    causes = {c["cause"]: c for c in summary["causes"]}
    assert causes["torn_line"]["count"] == 2 and not causes["torn_line"]["retriable"]
    assert causes["validation:status"]["field"] == "status"
    assert causes["validation:status"]["examples"][0]["reason"] == "status: not an int"
    assert cli(home, "dlq", "purge", "--cause", "torn_line").returncode == 2  # refuses without --yes
    assert "purged 2" in cli(home, "dlq", "purge", "--cause", "torn_line", "--yes").stdout
    retry = cli(home, "dlq", "retry")
    assert retry.returncode == 0 and "1 parked" in retry.stdout


def test_a_payload_with_a_lone_surrogate_is_stored_and_reads_back_the_same(tmp_path):
    # Found by the attack suite: the stdlib JSON reader accepts "\ud800", UTF-8 cannot hold it, and the
    # emitter's dead-letter write raised into the service that called emit().
    from logintel.store.dead_letters import DeadLetter, DeadLetterStore
    store = DeadLetterStore(tmp_path / "dl")
    payload = '{"route": "/a\ud800b"}'
    assert store.write([DeadLetter("emit", "sdk", "validation:route", "bad \udfff route", payload)]) == 1
    (record,) = store.records()
    assert record["payload"] == payload and record["reason"] == "bad \udfff route"
    # a retry that fails again rewrites the letter's file: that write raised too, and stopped `dlq retry`
    report = DeadLetterQueue(store).retry(FileLandingZone(tmp_path / "landing"), include_parked=True)
    assert (report.considered, report.delivered, report.still_failing) == (1, 0, 1)
    (again,) = store.records()
    assert again["payload"] == payload and again["attempts"] == 2


def _slow_delivery(log_path: str):
    """A delivery that takes its time and notes each letter it landed (one line per call)."""
    import time

    def deliver(zone, events):
        time.sleep(0.05)
        with open(log_path, "a", encoding="utf-8") as fh:
            fh.write(f"{events[0].event_id}\n")
        return len(events)
    return deliver


def _retry_in_a_process(root: str, landing: str, log_path: str, later: datetime) -> None:
    queue = DeadLetterQueue(DeadLetterStore(root))
    queue.retry(FileLandingZone(landing), now=later, deliver=_slow_delivery(log_path))


def test_two_processes_retrying_at_once_deliver_each_letter_once(store, tmp_path, later):
    """A retry holds the store's lock: the second waits, then finds nothing left to deliver. Without it both read
    the same letters, both deliver them, and each rewrites the file the other just changed."""
    import multiprocessing
    events = [event(H + timedelta(seconds=k)) for k in range(20)]
    store.write([letter("transport_unavailable", e.to_json()) for e in events])
    log_path = tmp_path / "delivered.log"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_retry_in_a_process,
                               args=(str(store.root), str(tmp_path / "landing"), str(log_path), later))
               for _ in range(2)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
    assert [p.exitcode for p in workers] == [0, 0]
    delivered = log_path.read_text(encoding="utf-8").split()
    assert sorted(delivered) == sorted(e.event_id for e in events)  # each once
    assert DeadLetterQueue(store).letters() == []
