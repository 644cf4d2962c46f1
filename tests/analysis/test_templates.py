"""Template mining: masking, stable ids and aliases, state files, untrusted input, Loghub accuracy, the CLI."""
from __future__ import annotations

import io
import json
import time

import pytest

from logintel.analysis.templates import Masker, MinerConfig, StateError, TemplateMiner
from logintel.analysis.templates.accuracy import grouping_accuracy
from logintel.analysis.templates.annotate import run_templates
from logintel.analysis.templates.ids import template_id
from tests.support import TEST_DATA

# Two systems of the Loghub 2k samples (structured, corrected labels), gzipped: see tests/data/loghub/README.md.
LOGHUB = TEST_DATA / "loghub"


# ---- masking --------------------------------------------------------------------------------

@pytest.mark.parametrize("text, masked", [
    ("retry 3 of 5, took -12 and 3.14", "retry <*> of <*>, took <*> and <*>"),
    ("ptr 0xdeadBEEF sha 8a2a501f", "ptr <*> sha <*>"),
    ("req 550e8400-e29b-41d4-a716-446655440000 done", "req <*> done"),
    ("from 10.0.0.1 and 10.0.0.2:8080 and /10.1.2.3:50010", "from <*> and <*> and <*>"),
    ("v6 fe80::1 and 2001:db8::ff00:42:8329", "v6 <*> and <*>"),
    ("resolve api.example.com and proxy.cse.cuhk.edu.hk:5070", "resolve <*> and <*>"),
    ("open /var/log/app.log and C:\\Windows\\system32\\drv.sys", "open <*> and <*>"),
    ("get https://x.org/a?b=1 now", "get <*> now"),
    ("notify bob.smith@example.org", "notify <*>"),
    ("user=alice retries=3 host=db-1.internal", "user=alice retries=<*> host=<*>"),
    ("at 2024-05-01T10:00:00Z and Fri Jun 17 07:07:00 2005 and 10:11:12.123", "at <*> and <*> and <*>"),
    ("took 250ms, wrote 1.5 GB in 3 seconds, lifetime <1 sec", "took <*>, wrote <*> in <*>, lifetime <*>"),
])
def test_masks_each_variable_kind(text, masked):
    assert Masker().mask(text) == masked


def test_quoted_strings_are_masked_when_chosen():
    # Off by default (a quoted name is often the event itself); available as a configured masker.
    assert Masker(["quoted"]).mask("service 'spark' said \"hi there\" but can't") == \
        "service '<*>' said \"<*>\" but can't"
    assert Masker().mask("service 'spark'") == "service 'spark'"


def test_names_with_digits_and_dotted_keys_are_not_values():
    text = "jk2_init() SOCKS5 tty2 android.intent.action.SCREEN_ON mapred.task.id setup.py"
    assert Masker().mask(text) == text


def test_unknown_masker_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown masker"):
        Masker(["numbers-and-more"])


# ---- mining -------------------------------------------------------------------------------------

def test_variable_length_parameters_share_a_template():
    # Drain3 issue #66: a list parameter's length must not split the template.
    miner = TemplateMiner()
    a = miner.add("ask 10.0.0.1:50010 to delete blk_1 blk_2")
    b = miner.add("ask 10.0.0.2:50010 to delete blk_3 blk_4 blk_5 blk_6 blk_7")
    c = miner.add("REPORT : 1 2 3 4")
    d = miner.add("REPORT : 1 2")
    assert a.template_id == b.template_id and a.template == "ask <*> to delete blk_<*>"
    assert c.template_id == d.template_id and c.template == "REPORT : <*>"


def test_multi_word_variables_fit_a_wildcard():
    # Drain3 issue #17: a wildcard may stand for several tokens.
    miner = TemplateMiner()
    first = miner.add("login of user alice from the console")
    second = miner.add("login of user bob from the console")
    third = miner.add("login of user John Ronald Tolkien from the console")
    assert first.template_id == second.template_id == third.template_id
    assert third.template == "login of user <*> from the console"


def test_states_and_long_held_constants_are_not_generalised():
    miner = TemplateMiner()
    running = miner.add("task 7 transitioned from NEW to RUNNING")
    failed = miner.add("task 8 transitioned from NEW to FAILED")
    assert running.template_id != failed.template_id
    for _ in range(20):
        https = miner.add("host.example.com:80 open through proxy socks.example.com:1080 via tunnel")
    other = miner.add("host.example.com:80 open through proxy socks.example.com:1080 via relay")
    assert https.template_id != other.template_id


def test_a_long_held_value_rejoins_once_a_third_value_shows_it_varies():
    miner = TemplateMiner()
    alice = [miner.add("login of user alice ok") for _ in range(20)][0]
    bob = miner.add("login of user bob ok")
    assert bob.template_id != alice.template_id  # "alice" held for 20 lines: bob may be another event
    carol = miner.add("login of user carol ok")  # bob's template widens and then covers alice's
    assert carol.template_id == alice.template_id == miner.resolve(bob.template_id)
    assert miner.templates() == [(alice.template_id, "login of user <*> ok", 22)]


def test_match_does_not_learn():
    miner = TemplateMiner()
    known = miner.add("disk 3 is full")
    assert miner.match("disk 9 is full").template_id == known.template_id
    unknown = miner.match("completely different words here")
    assert unknown.template_id is None and unknown.template == "completely different words here"
    assert [t[0] for t in miner.templates()] == [known.template_id]


def test_add_many_equals_add_one_by_one():
    lines = _sample_lines()
    one_by_one = TemplateMiner()
    singles = [one_by_one.add(line) for line in lines]
    batch = TemplateMiner()
    assert batch.add_many(lines) == singles
    assert batch.templates() == one_by_one.templates()


def test_repeated_messages_cost_one_mining_step():
    miner = TemplateMiner()
    learn, steps = miner._learn, []
    miner._learn = lambda tokens: steps.append(tokens) or learn(tokens)
    lines = [f"request {i} served in {i % 97} ms" for i in range(20_000)] + ["cache hit"] * 20_000
    start = time.perf_counter()
    matches = miner.add_many(lines)
    assert time.perf_counter() - start < 5
    assert len(steps) == 2  # one per distinct masked message, not one per line
    assert len({m.template_id for m in matches}) == 2
    assert sorted(count for _, _, count in miner.templates()) == [20_000, 20_000]


# ---- ids, aliases and state --------------------------------------------------------------------------

def test_ids_derive_from_template_text_so_independent_miners_agree():
    a, b = TemplateMiner(), TemplateMiner()
    lines = _sample_lines()
    assert [m.template_id for m in a.add_many(lines)] == [m.template_id for m in b.add_many(lines)]
    assert a.add("disk 3 is full").template_id == template_id("disk <*> is full")
    assert template_id("disk <*> is full").startswith("T") and len(template_id("x")) == 11


def test_ids_stable_across_runs_and_partitions_with_state(tmp_path):
    state = tmp_path / "state" / "templates.json"
    lines = _sample_lines()
    hour1 = TemplateMiner(state_path=state)
    first = {line: hour1.resolve(m.template_id) for line, m in zip(lines, hour1.add_many(lines))}
    hour1.save()
    hour2 = TemplateMiner(state_path=state)
    later = lines[::-1]  # another partition, in another order
    again = hour2.add_many(later)
    assert {line: m.template_id for line, m in zip(later, again)} == first
    assert not any(m.is_new for m in again)
    assert {t[0] for t in hour2.templates()} == set(first.values())
    assert [p.name for p in state.parent.iterdir()] == ["templates.json"]  # no temporary file left


def test_alias_survives_generalisation(tmp_path):
    state = tmp_path / "templates.json"
    miner = TemplateMiner(state_path=state)
    original = miner.add("session opened for user alice")
    assert original.is_new and original.template == "session opened for user alice"
    widened = miner.add("session opened for user bob")
    assert widened.template_id == original.template_id  # the id survives the token becoming <*>
    assert widened.template == "session opened for user <*>"
    natural = template_id("session opened for user <*>")
    assert miner.resolve(natural) == original.template_id
    miner.save()
    reloaded = TemplateMiner(state_path=state)
    assert reloaded.resolve(natural) == original.template_id
    assert reloaded.template(original.template_id) == "session opened for user <*>"
    assert reloaded.add("session opened for user carol").template_id == original.template_id


def test_merged_template_ids_resolve_to_the_survivor(tmp_path):
    miner = TemplateMiner(state_path=tmp_path / "t.json")
    older = miner.add("job done state x")
    younger = miner.add("job done state 1 y")  # another length: its own template at first
    assert miner.add("job done state 2 z").template == "job done state <*>"
    assert older.template_id != younger.template_id
    # Generalising the older one gives the same text: the two merge and the older id survives.
    assert miner.add("job done state w").template_id == older.template_id
    assert miner.resolve(younger.template_id) == older.template_id
    assert miner.templates() == [(older.template_id, "job done state <*>", 4)]
    miner.save()
    reloaded = TemplateMiner(state_path=tmp_path / "t.json")
    assert reloaded.resolve(younger.template_id) == older.template_id
    assert reloaded.add("job done state 7 q").template_id == older.template_id


def test_config_is_validated_and_a_state_from_another_config_still_resolves(tmp_path, caplog):
    with pytest.raises(ValueError, match="similarity_threshold"):
        MinerConfig(similarity_threshold=0)
    state = tmp_path / "t.json"
    miner = TemplateMiner(MinerConfig(similarity_threshold=0.6), state_path=state)
    first = miner.add("disk 3 is full")
    miner.save()
    with caplog.at_level("WARNING"):
        other = TemplateMiner(MinerConfig(), state_path=state)
    assert "another configuration" in caplog.text
    assert other.add("disk 4 is full").template_id == first.template_id


def test_corrupt_state_is_a_clear_error(tmp_path):
    bad = tmp_path / "t.json"
    bad.write_text("{not json")
    with pytest.raises(StateError, match="unreadable"):
        TemplateMiner(state_path=bad)
    bad.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(StateError):
        TemplateMiner(state_path=bad)
    bad.write_text(json.dumps({"format": "logintel.templates/1", "patterns": [["T0", ["a"], 1]]}))
    with pytest.raises(StateError, match="malformed"):
        TemplateMiner(state_path=bad)


def test_state_in_the_state_store_keeps_ids_stable_and_takes_over_an_earlier_file(tmp_path):
    from logintel.analysis.templates.state import StoredState
    from logintel.store.state_store import StateStore
    lines = _sample_lines()
    earlier = tmp_path / "state" / "templates.json"  # where the state was kept before the store
    hour1 = TemplateMiner(state_path=earlier)
    first = {line: hour1.resolve(m.template_id) for line, m in zip(lines, hour1.add_many(lines))}
    hour1.save()
    store = StateStore(path=tmp_path / "state" / "state.db")
    # the store holds none yet: the file is read, and the save puts the state in the store
    hour2 = TemplateMiner(state=StoredState(store, imported_from=earlier))
    assert {line: m.template_id for line, m in zip(lines, hour2.add_many(lines))} == first
    hour2.add("a message never seen before 1")
    hour2.save()
    earlier.unlink()  # from now on the store is what a run on any machine continues
    hour3 = TemplateMiner(state=StoredState(StateStore(path=tmp_path / "state" / "state.db")))
    assert {line: m.template_id for line, m in zip(lines, hour3.add_many(lines))} == first
    assert not hour3.add("a message never seen before 2").is_new
    # a document that is not a miner's state is a clear error naming where it is
    store.keep_document("template_miner", "{not json")
    with pytest.raises(StateError, match="template_miner in .*state.db is unreadable"):
        TemplateMiner(state=StoredState(store))
    store.keep_document("template_miner", json.dumps({"format": "something else"}))
    with pytest.raises(StateError, match="not a logintel.templates/1 document"):
        TemplateMiner(state=StoredState(store))


def test_save_without_state_path_is_refused():
    with pytest.raises(ValueError, match="state_path"):
        TemplateMiner().save()


# ---- bad input ----------------------------------------------------------------------------

def test_empty_and_blank_messages_share_one_template():
    miner = TemplateMiner()
    empty, blank = miner.add(""), miner.add("   \t ")
    assert empty.template_id == blank.template_id and empty.template == ""


def test_a_single_template_is_fine():
    miner = TemplateMiner()
    matches = miner.add_many(["heartbeat ok"] * 50)
    assert len({m.template_id for m in matches}) == 1
    assert miner.templates() == [(matches[0].template_id, "heartbeat ok", 50)]


@pytest.mark.parametrize("message", [
    "x" * 100_000,
    " ".join(["word"] * 25_000),
    "a=" * 50_000,
    "1.1." * 25_000,
    "/" * 100_000,
    "'" * 100_000,
    ":" * 100_000,
    "user " + "é€\udcff" * 30_000,
])
def test_100kb_messages_get_a_template_quickly(message):
    miner = TemplateMiner()
    start = time.perf_counter()
    match = miner.add(message)
    assert time.perf_counter() - start < 1.0
    assert match.template_id and len(match.template) <= 2_000
    assert miner.match(message).template_id == match.template_id


def test_undecodable_text_survives_the_state_file(tmp_path):
    miner = TemplateMiner(state_path=tmp_path / "t.json")
    first = miner.add("bad byte \udcff in 3 places")  # what errors="surrogateescape" decoding yields
    miner.save()
    assert TemplateMiner(state_path=tmp_path / "t.json").add("bad byte \udcff in 4 places").template_id == \
        first.template_id


def test_bytes_are_decoded_not_rejected():
    miner = TemplateMiner()
    assert miner.add(b"disk \xff 3 full").template == "disk \ufffd <*> full"


# ---- accuracy on Loghub ------------------------------------------------------------------------

def test_grouping_accuracy_counts_whole_groups():
    assert grouping_accuracy(["a", "a", "b"], [1, 1, 2]) == 1.0
    assert grouping_accuracy(["a", "a", "a"], [1, 1, 2]) == 0.0
    assert grouping_accuracy(["a", "b", "c"], [1, 1, 2]) == pytest.approx(1 / 3)


@pytest.mark.parametrize("system", ["Linux", "Proxifier"])
def test_loghub_accuracy_beats_drain3_defaults(system):
    from benchmarks.templates import load_system, score_drain3, score_ours
    contents, truth = load_system(LOGHUB, system)
    ours, drain3 = score_ours(contents, truth), score_drain3(contents, truth)
    assert ours.ga >= drain3.ga
    assert ours.ga >= 0.9


# ---- CLI ----------------------------------------------------------------------------------------

def test_cli_plain_and_json_with_non_utf8_input(tmp_path):
    log = tmp_path / "app.log"
    log.write_bytes(b"disk 3 is full\nuser \xff\xfe logged in\ndisk 12 is full\n\nlast line without newline")
    out, err = io.StringIO(), io.StringIO()
    assert run_templates([str(log)], as_json=False, state=None, out=out, err=err) == 0
    rows = [line.split("\t") for line in out.getvalue().splitlines()]
    assert len(rows) == 5
    assert rows[0] == [template_id("disk <*> is full"), "disk <*> is full"] and rows[2] == rows[0]
    assert "\ufffd" in rows[1][1]
    assert "5 lines" in err.getvalue()

    state = tmp_path / "templates.json"
    out = io.StringIO()
    assert run_templates([str(log)], as_json=True, state=state, out=out, err=io.StringIO()) == 0
    records = json.loads(out.getvalue())
    assert [r["line"] for r in records] == [1, 2, 3, 4, 5]
    assert records[0]["template_id"] == records[2]["template_id"] == rows[0][0]
    assert records[1]["path"] == str(log) and records[3]["template"] == ""
    assert state.exists()


def test_cli_empty_file_missing_file_and_bad_state(tmp_path):
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    out = io.StringIO()
    assert run_templates([str(empty)], as_json=True, state=None, out=out, err=io.StringIO()) == 0
    assert json.loads(out.getvalue()) == []
    out = io.StringIO()
    assert run_templates([str(empty)], as_json=False, state=None, out=out, err=io.StringIO()) == 0
    assert out.getvalue() == ""
    err = io.StringIO()
    assert run_templates([str(tmp_path / "nope.log")], as_json=False, state=None, out=io.StringIO(), err=err) == 2
    assert "no such file" in err.getvalue()
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    err = io.StringIO()
    assert run_templates([str(empty)], as_json=False, state=bad, out=io.StringIO(), err=err) == 2
    assert "error:" in err.getvalue()


def _sample_lines() -> list[str]:
    lines = []
    for i in range(60):
        lines += [
            f"Received block blk_{1000 + i} of size {64 * i} from /10.0.0.{i % 250}",
            f"session opened for user {['alice', 'bob', 'carol'][i % 3]} by (uid={i})",
            f"connection from 10.1.{i % 7}.{i} at Fri Jun {i % 28 + 1} 07:07:00 2005",
            f"task_{i} Task Transitioned from {'NEW' if i % 2 else 'SCHEDULED'} to RUNNING",
            f"Deleting blocks {' '.join(f'blk_{j}' for j in range(i % 5 + 1))}",
        ]
    return lines
