"""Receipts: the emitter says when a group of events is durable (delivered or dumped) or lost."""
from __future__ import annotations

from logintel.ingest import Emitter
from logintel.ingest.receipt import Receipt
from tests.ingest.test_emitter import Switchable, config
from tests.support.factories import event


def test_a_receipt_settles_durable_once_its_events_are_delivered_without_waiting_for_the_interval(tmp_path, now):
    primary = Switchable(up=True)
    with Emitter(config(tmp_path, flush_interval_s=60.0, batch_size=10_000), transports=[primary]) as emitter:
        receipt = Receipt(25)
        emitter.emit_batch([event(now) for _ in range(25)], receipt)
        assert receipt.wait(10)  # nudged: not held for the 60 s interval or a full batch
        assert receipt.all_durable and receipt.durable == 25 and len(primary.lines) == 25


def test_events_no_transport_takes_are_durable_once_dumped(tmp_path, now):
    with Emitter(config(tmp_path, retry_hold_s=0.2), transports=[Switchable(up=False)]) as emitter:
        receipt = Receipt(7)
        emitter.emit_batch([event(now) for _ in range(7)], receipt)
        assert receipt.wait(10) and receipt.all_durable
        assert emitter.stats()["dumped"] == 7


def test_events_the_full_dump_refuses_are_lost_and_the_receipt_says_so(tmp_path, now):
    with Emitter(config(tmp_path, retry_hold_s=0.0, disk_limit_bytes=1), transports=[Switchable(up=False)]) as emitter:
        receipt = Receipt(4)
        emitter.emit_batch([event(now) for _ in range(4)], receipt)
        assert receipt.wait(10)
        assert not receipt.all_durable and (receipt.lost, receipt.durable) == (4, 0)
        ready, why = emitter.ready()  # the transport's last send failed and the dump has no room
        assert not ready and "dump is at its disk limit" in why
        assert emitter.stats()["dropped"] == {"disk_full:info": 4}


def test_a_callback_added_after_the_receipt_is_done_runs_at_once():
    receipt = Receipt(1)
    receipt.settle(1, durable=True)
    seen = []
    receipt.add_done_callback(seen.append)
    assert seen == [receipt]
