"""Replay of dump files on real files: idempotent by event_id, torn lines dead-lettered, files archived,
affected hours reported, and the `logintel replay` CLI. The Dagster job and the sensors that start and
follow it are in tests/dagster/test_replay_sensors.py."""
import json
import os
from datetime import timedelta

import pytest

from logintel.store.dead_letters import DeadLetterStore
from logintel.ingest.replay import dump_files, replay_dumps
from logintel.store.landing import hour_key
from logintel.store.landing_files import FileLandingZone
from tests.support.cli import cli
from tests.support.dumps import write_dump
from tests.support.factories import event


@pytest.fixture
def setup(home):
    dumps = home / "dumps"
    return dumps, FileLandingZone(home / "landing"), DeadLetterStore(home / "deadletters")


def test_replay_lands_dead_letters_torn_tail_archives_and_reports_hours(setup, previous_hour):
    dumps, zone, store = setup
    hour = previous_hour
    events = [event(hour + timedelta(minutes=m)) for m in range(5)] + [event(hour + timedelta(minutes=70))]
    write_dump(dumps, hour, "seg-1.jsonl", events, tail=b'{"event_id": "torn", "times')
    (dumps / hour.strftime("%Y-%m-%d") / "seg-2.jsonl.partial").write_text(events[0].to_json() + "\n")
    report = replay_dumps(dumps, zone, store, dumps / "archive")
    assert (report.lines, report.replayed, report.duplicates, report.dead_lettered) == (7, 6, 0, 1)
    assert report.accounted() and report.by_cause == {"torn_line": 1}
    assert report.partitions == [hour_key(hour), hour_key(hour + timedelta(hours=1))]
    assert len(zone.read_hour(hour).lines) == 5
    [dead] = list(store.records())
    assert dead["stage"] == "replay" and dead["payload"] == '{"event_id": "torn", "times'
    # Archived under the same date folder; the in-progress .partial file was left alone.
    assert (dumps / "archive" / hour.strftime("%Y-%m-%d") / "seg-1.jsonl").exists()
    assert [p.name for p in dump_files(dumps)] == []
    assert (dumps / hour.strftime("%Y-%m-%d") / "seg-2.jsonl.partial").exists()


def test_replaying_twice_adds_nothing(setup, previous_hour):
    dumps, zone, store = setup
    events = [event(previous_hour + timedelta(minutes=m)) for m in range(4)]
    write_dump(dumps, previous_hour, "a.jsonl", events)
    first = replay_dumps(dumps, zone, store, dumps / "archive")
    # The same events dumped again (e.g. a resend after a timeout), plus one repeated within the file.
    write_dump(dumps, previous_hour, "a.jsonl", events + events[:1])
    second = replay_dumps(dumps, zone, store, dumps / "archive")
    assert first.replayed == 4
    assert (second.lines, second.replayed, second.duplicates, second.partitions) == (5, 0, 5, [])
    assert len(zone.read_hour(previous_hour).lines) == 4
    assert len(list((dumps / "archive").rglob("a*.jsonl"))) == 2  # same name archived twice, both kept


@pytest.mark.subprocess
def test_cli_replay_defaults_to_the_dump_dir_and_saves_a_report(setup, home, previous_hour):
    dumps, zone, _ = setup
    write_dump(dumps, previous_hour, "c.jsonl", [event(previous_hour), event(previous_hour + timedelta(minutes=1))],
               tail=b"not json\n")
    out = cli(home, "replay", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert (report["replayed"], report["dead_lettered"], report["by_cause"]) == (2, 1, {"invalid_json": 1})
    assert len(list((dumps / "reports").glob("*.json"))) == 1
    idle = cli(home, "replay").stdout
    assert "0 replayed" in idle and "report:" not in idle
    assert len(list((dumps / "reports").glob("*.json"))) == 1  # an idle run leaves no report behind


def test_replay_refuses_a_file_outside_the_dump_folder_and_moves_nothing(setup, home, previous_hour, tmp_path):
    dumps, zone, _ = setup
    write_dump(dumps, previous_hour, "inside.jsonl", [event(previous_hour)])
    outside = write_dump(tmp_path / "elsewhere", previous_hour, "precious.jsonl", [event(previous_hour)])
    sneaky = dumps / ".." / ".." / outside.relative_to(tmp_path)
    for given in (outside, sneaky):
        out = cli(home, "replay", str(given))
        assert out.returncode == 2, out.stdout
        assert "outside the dump folder" in out.stderr and str(dumps) in out.stderr
    assert outside.exists() and zone.hours() == []  # nothing moved, nothing landed


def test_replay_refuses_a_file_in_the_dump_folder_it_did_not_write(setup, home, previous_hour):
    dumps, _, _ = setup
    notes = dumps / "notes.txt"
    notes.parent.mkdir(parents=True, exist_ok=True)
    notes.write_text("mine\n")
    out = cli(home, "replay", str(notes))
    assert out.returncode == 2 and "not a dump segment" in out.stderr
    assert notes.exists()


def test_a_fifo_among_the_dumps_is_skipped_and_the_report_still_written(setup, home, previous_hour):
    dumps, zone, _ = setup
    write_dump(dumps, previous_hour, "a.jsonl", [event(previous_hour)])
    os.mkfifo(dumps / previous_hour.strftime("%Y-%m-%d") / "b.jsonl")  # nobody writes it: reading would hang
    out = cli(home, "replay", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["replayed"] == 1 and len(report["archived"]) == 1
    assert [s.split(": ")[1] for s in report["skipped"]] == ["not a regular file"]
    assert len(list((dumps / "reports").glob("*.json"))) == 1


def test_ingest_of_a_fifo_is_a_clear_error(home, tmp_path):
    fifo = tmp_path / "events.jsonl"
    os.mkfifo(fifo)
    out = cli(home, "ingest", str(fifo))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "not a regular file" in out.stderr


def test_links_inside_the_dump_folder_are_never_followed_but_the_folder_may_be_one(tmp_path, previous_hour):
    real = tmp_path / "big-disk" / "dumps"
    write_dump(real, previous_hour, "a.jsonl", [event(previous_hour)])
    secret = tmp_path / "secret.jsonl"
    secret.write_text(event(previous_hour).to_json() + "\n")
    (real / previous_hour.strftime("%Y-%m-%d") / "b.jsonl").symlink_to(secret)
    linked = tmp_path / "home-dumps"
    linked.symlink_to(real, target_is_directory=True)
    zone, store = FileLandingZone(tmp_path / "landing"), DeadLetterStore(tmp_path / "dl")
    report = replay_dumps([linked], zone, store, linked / "archive", dump_root=linked)
    assert report.replayed == 1 and len(report.archived) == 1
    assert [s.split(": ")[1] for s in report.skipped] == ["not a regular file"]
    assert secret.exists() and (real / previous_hour.strftime("%Y-%m-%d") / "b.jsonl").is_symlink()
