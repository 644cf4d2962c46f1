"""Redaction before log text reaches an LLM: no corpus secret survives, what the analyst needs does."""
from __future__ import annotations

import copy
import json
import random
import re
import time
from datetime import datetime, timezone

import pytest

from logintel.events import WideEvent
from logintel.llm.redaction import RedactionReport, Redactor
from tests.support.redaction_corpus import all_secrets, load_corpus

CORPUS = load_corpus()
PLACEHOLDER = re.compile(r"<([a-z_0-9]+):[0-9a-f]{8}>")
IP_PSEUDONYM = re.compile(r"ip-[0-9a-f]{8}")
USER_PSEUDONYM = re.compile(r"user-[0-9a-f]{8}")


@pytest.fixture
def redactor() -> Redactor:
    return Redactor(secret="test-secret")


def _ids(entries):
    return [f"line{i + 1}" for i in range(len(entries))]


# --- the corpus -------------------------------------------------------------------------------

def test_corpus_is_large_and_realistic():
    assert len(CORPUS) >= 60
    with_secrets = [e for e in CORPUS if e["secrets"]]
    assert len(with_secrets) >= 55
    assert sum(len(e["keep"]) for e in CORPUS) >= 150
    assert "AKIAIOSFODNN7EXAMPLE" in all_secrets()


@pytest.mark.parametrize("entry", CORPUS, ids=_ids(CORPUS))
def test_no_secret_survives_and_everything_kept_does(redactor, entry):
    out = redactor.redact(entry["text"])
    leaked = [s for s in entry["secrets"] if s in out]
    lost = [k for k in entry["keep"] if k not in out]
    assert not leaked, f"leaked {leaked} in {out!r}"
    assert not lost, f"lost {lost} from {out!r}"


@pytest.mark.parametrize("entry", CORPUS, ids=_ids(CORPUS))
def test_redaction_is_idempotent(redactor, entry):
    once = redactor.redact(entry["text"])
    counts = redactor.report.as_dict()
    assert redactor.redact(once) == once
    assert redactor.report.as_dict() == counts, "re-redacting must find nothing new"


def test_every_line_with_secrets_gets_typed_placeholders(redactor):
    kinds = set()
    for entry in CORPUS:
        out = redactor.redact(entry["text"])
        if entry["secrets"]:
            assert out != entry["text"]
        kinds.update(PLACEHOLDER.findall(out))
    assert {"email", "jwt", "api_key", "aws_key", "password", "card", "private_key", "bearer", "ssn"} <= kinds


# --- what must survive untouched ---------------------------------------------------------------

SURVIVES = [
    "2024-05-14T09:31:07.123Z", "2024-05-14 09:31:07,123", "14/May/2024:09:31:07 +0000", "09:31:07", "00:00:12.345",
    "took 8004.2 ms", "1532ms", "timeout=30s", "retry after 60 s",
    "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7",
    "request 123e4567-e89b-12d3-a456-426614174000",
    "checkout v2.4.1", "version 2.4.1", "go1.22.3", "okhttp/4.12.0",
    "HTTP/1.1 504", "status=503", "GET /orders/{id} 404", "POST /orders/{id}/items/{item_id}",
    "db.internal:5432", "listening on 0.0.0.0:8080", "sidecar at 127.0.0.1:15000", "[::1]:9090",
    "epoch 1715678067123", "ord-4829103", "sku-12345", "pay_0001abcd", "order 4111111111111112",
    "id 1234567890123456", "isbn 9780306406157", "mac 00:1a:2b:3c:4d:5e",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "commit a94a8fe5ccb19ba61c4c0873d391e987982fbbd3", "pod=checkout-7d9f8b6c5-x2k4p",
    "prompt_tokens=512 completion_tokens: 128 max_tokens=1024 token_count=640",
    "refresh token expired or revoked", "missing or expired access token", "invalid username or password",
    "field 'password' must be at least 12 characters", "password: missing", "api_key=***", "token: [REDACTED]",
    "failed to fetch oauth token: unexpected status: 401 Unauthorized", "Bearer token expired",
    "part number 078-05-1120", "rate limit exceeded: 31 requests in 1s (limit 20)",
    "could not acquire connection from pool orders-db-primary within 5000 ms (active=50, idle=0, waiting=17)",
    "java.lang.NullPointerException at com.shop.Cart.total(Cart.java:42)", "std::vector<int>",
    "user is disabled", "bypass=true", "pass=12 fail=0",
]


@pytest.mark.parametrize("text", SURVIVES)
def test_analyst_facts_survive_untouched(redactor, text):
    assert redactor.redact(text) == text
    assert redactor.report.total == 0


# --- individual kinds ----------------------------------------------------------------------------

@pytest.mark.parametrize("card", ["4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111",
                                  "5555555555554444", "378282246310005", "3782 822463 10005",
                                  "6011111111111117", "3530111333300000", "30569309025904", "4222222222222"])
def test_luhn_valid_cards_are_redacted(redactor, card):
    out = redactor.redact(f"charge with {card} declined")
    assert card not in out and "<card:" in out
    assert redactor.report["card"] == 1


@pytest.mark.parametrize("number", ["4111111111111112", "1715678067123", "9780306406157", "1234567890123456"])
def test_numbers_that_are_not_cards_survive(redactor, number):
    assert redactor.redact(f"id {number}") == f"id {number}"


def test_ssn_needs_context(redactor):
    assert redactor.redact("ref 078-05-1120") == "ref 078-05-1120"
    assert "078-05-1120" not in redactor.redact("SSN: 078-05-1120")
    assert "078-05-1120" not in redactor.redact('{"ssn": "078-05-1120"}')
    assert redactor.report["ssn"] == 2


def test_url_credentials_keep_scheme_and_host_and_hash_the_user(redactor):
    out = redactor.redact("dial postgresql://orders_rw:s3cr3t@orders-db.internal:5432/orders failed")
    assert out.startswith("dial postgresql://user-") and "@orders-db.internal:5432/orders failed" in out
    assert "orders_rw" not in out and "s3cr3t" not in out
    assert redactor.report["url_credentials"] == 1


@pytest.mark.parametrize("text, secret, kind", [
    ("api_key=AbC123xyz789", "AbC123xyz789", "api_key"),
    ("apikey: 9f8e7d6c5b4a", "9f8e7d6c5b4a", "api_key"),
    ('{"password": "correct horse battery"}', "correct horse battery", "password"),
    ("passwd=hunter2 next", "hunter2", "password"),
    ("pwd=qwerty123", "qwerty123", "password"),
    ("secret=s3cr3tValue", "s3cr3tValue", "secret"),
    ("token=abc123def456", "abc123def456", "token"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     "aws_key"),
    ("Authorization: Bearer 0a1b2c3d4e5f6a7b8c9d", "0a1b2c3d4e5f6a7b8c9d", "bearer"),
    ("key AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE", "aws_key"),
    ("user_id=4711 logged in", "4711", "user_id"),
    ('"user_id": "c0ffee-42"', "c0ffee-42", "user_id"),
])
def test_key_value_secrets_keep_the_key(redactor, text, secret, kind):
    out = redactor.redact(text)
    assert secret not in out
    key = re.split(r"[\s:=\"]", text.strip('{"'))[0]
    assert key in out
    assert redactor.report[kind] == 1


def test_json_stays_json(redactor):
    record = {"user_id": 12345, "password": "p\"w", "email": "A.B@example.com", "note": "from 203.0.113.9",
              "nested": {"token": "abc123def456", "ok": True}}
    out = json.loads(redactor.redact(json.dumps(record)))
    assert USER_PSEUDONYM.fullmatch(out["user_id"])
    assert PLACEHOLDER.fullmatch(out["password"]) and PLACEHOLDER.fullmatch(out["nested"]["token"])
    assert out["nested"]["ok"] is True and IP_PSEUDONYM.search(out["note"])


# --- pseudonyms -----------------------------------------------------------------------------------

def test_same_ip_same_pseudonym_different_ips_different(redactor):
    a1 = redactor.redact("login from 203.0.113.7")
    a2 = redactor.redact("203.0.113.7 again, then 198.51.100.2")
    p1 = IP_PSEUDONYM.findall(a1)
    p2 = IP_PSEUDONYM.findall(a2)
    assert p1[0] == p2[0]
    assert p2[0] != p2[1]
    assert len({redactor.redact(f"10.0.{i // 256}.{i % 256}") for i in range(2000)}) == 2000


def test_ip_forms_share_a_pseudonym_across_text_and_fields(redactor):
    forms = ["2001:DB8::1", "2001:db8:0:0:0:0:0:1", "2001:0db8::0001"]
    assert len({redactor.redact(f"peer {f} down") for f in forms}) == 1
    text = redactor.redact("blocked 198.51.100.77 after 5 attempts")
    assert redactor.redact_value("client_ip", "198.51.100.77") in text
    assert redactor.redact_value("user_id", "u-90211") in redactor.redact("user u-90211 locked")
    assert redactor.redact_value("email", "Jane@Example.com") in redactor.redact("mail jane@example.com")


def test_an_ipv6_address_before_a_sentences_colon_is_found(redactor):
    pseudonym = redactor.redact_value("client_ip", "2001:db8::7")
    assert redactor.redact("reset by 2001:db8::7: retrying") == f"reset by {pseudonym}: retrying"
    assert redactor.redact("at 10:08: done; mac aa:bb:cc:dd:ee:ff: up") == "at 10:08: done; mac aa:bb:cc:dd:ee:ff: up"


def test_pseudonyms_follow_the_secret():
    line = "u-48213 from 203.0.113.42 mailed jane@example.com"
    assert Redactor("one").redact(line) == Redactor("one").redact(line)
    assert Redactor(b"one").redact(line) == Redactor("one").redact(line)
    assert Redactor("one").redact(line) != Redactor("two").redact(line)
    # The per-process default: stable between Redactors here, unknown anywhere else.
    assert Redactor().redact(line) == Redactor().redact(line) != Redactor("one").redact(line)
    with pytest.raises(ValueError):
        Redactor("")


# --- structured records ---------------------------------------------------------------------------

def test_redact_value_by_field_name(redactor):
    assert USER_PSEUDONYM.fullmatch(redactor.redact_value("user_id", "u-12345"))
    assert USER_PSEUDONYM.fullmatch(redactor.redact_value("userId", 12345))
    assert IP_PSEUDONYM.fullmatch(redactor.redact_value("client_ip", "203.0.113.5"))
    ua = "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Chrome/124.0.0.0 Safari/605.1.15"
    assert redactor.redact_value("user_agent", ua) == ua
    assert redactor.redact_value("email", "bob@example.com").startswith("<email:")
    for field in ("password", "token", "api_key", "authorization", "secret", "X-Api-Key", "db.password"):
        assert PLACEHOLDER.fullmatch(redactor.redact_value(field, "value-123")), field
    assert redactor.redact_value("password", None) is None
    assert redactor.redact_value("route", "/orders/{id}") == "/orders/{id}"
    assert redactor.redact_value("status", 504) == 504
    xff = redactor.redact_value("client_ip", "203.0.113.7, 10.1.2.3")
    assert "203.0.113.7" not in xff and "10.1.2.3" not in xff and ", " in xff


def test_redact_obj_deep_copies_and_redacts_nested_records(redactor):
    record = {
        "service": "auth", "route": "/auth/login", "status": 401, "duration_ms": 12.5, "sampled": True,
        "user_id": "u-90211", "client_ip": "198.51.100.77", "user_agent": "okhttp/4.12.0",
        "error": {"message": "invalid password for jane@example.com", "code": "INVALID_CREDENTIALS"},
        "attributes": {"headers": {"Authorization": "Bearer abc.def.ghi", "X-Request-Id": "r-1"},
                       "user": {"id": 7, "email": "jane@example.com"},
                       "hops": ["203.0.113.7", ("10.0.0.8", 3)], "tags": {"login"}},
        "actor": [{"api_key": "sk_live_abcdefghij0123"}],
    }
    original = copy.deepcopy(record)
    out = redactor.redact_obj(record)
    assert record == original, "the input is not modified"
    flat = json.dumps(out, default=sorted)
    for secret in ("u-90211", "198.51.100.77", "jane@example.com", "abc.def.ghi", "203.0.113.7", "10.0.0.8",
                   "sk_live_abcdefghij0123"):
        assert secret not in flat
    assert out["service"] == "auth" and out["route"] == "/auth/login" and out["status"] == 401
    assert out["duration_ms"] == 12.5 and out["sampled"] is True and out["user_agent"] == "okhttp/4.12.0"
    assert out["error"]["code"] == "INVALID_CREDENTIALS"
    assert USER_PSEUDONYM.fullmatch(out["attributes"]["user"]["id"])
    assert out["attributes"]["headers"]["X-Request-Id"] == "r-1"
    assert isinstance(out["attributes"]["hops"][1], tuple) and out["attributes"]["hops"][1][1] == 3
    assert out["attributes"]["tags"] == {"login"}
    assert out["user_id"] == redactor.redact_value("user_id", "u-90211")
    assert redactor.redact_obj(out) == out


def test_redact_obj_on_a_wide_event(redactor):
    event = WideEvent(event_id="e1", timestamp=datetime(2024, 5, 14, 9, 31, tzinfo=timezone.utc), service="auth",
                      route="/auth/login", duration_ms=12.5, level="error", user_id="u-90211",
                      client_ip="198.51.100.77", user_agent="curl/8.5.0",
                      error_message="login failed for jane@example.com", attributes={"password": "hunter2"})
    out = redactor.redact_obj(event)
    assert isinstance(out, WideEvent) and out.event_id == "e1" and out.route == "/auth/login"
    assert USER_PSEUDONYM.fullmatch(out.user_id) and IP_PSEUDONYM.fullmatch(out.client_ip)
    assert "jane@example.com" not in out.error_message and "hunter2" not in str(out.attributes)
    assert out.user_agent == "curl/8.5.0"


# --- the report --------------------------------------------------------------------------------------

def test_report_counts_by_kind_and_resets(redactor):
    redactor.redact("u-1001 from 203.0.113.1 and 203.0.113.1 mailed a@example.com, card 4111 1111 1111 1111, "
                    "Authorization: Bearer 0a1b2c3d4e5f6a7b8c9d password=x1")
    report = redactor.report
    assert isinstance(report, RedactionReport)
    assert report.as_dict() == {"bearer": 1, "card": 1, "email": 1, "ipv4": 2, "password": 1, "user_id": 1}
    assert report["jwt"] == 0 and report.total == 7 and report.scanned == 1
    report.reset()
    assert report.total == 0 and report.as_dict() == {} and report.scanned == 0


def test_non_text_is_refused_by_redact(redactor):
    assert redactor.redact(None) is None
    assert redactor.redact("") == ""
    with pytest.raises(TypeError):
        redactor.redact(b"password=hunter2")


# --- speed ----------------------------------------------------------------------------------------------

def _realistic_messages(n: int) -> list[str]:
    """Mostly the simulator's error messages and access lines; one in ten a corpus line full of secrets."""
    from logintel.simulate.errors import KINDS

    rnd = random.Random(20240514)
    messages = []
    for _ in range(n):
        x = rnd.random()
        if x < 0.6:
            messages.append(KINDS[rnd.randrange(len(KINDS))].message(rnd.randrange(10**9)))
        elif x < 0.75:
            messages.append(f'203.0.113.{rnd.randrange(256)} - - [14/May/2024:09:{rnd.randrange(60):02d}:07 +0000] '
                            f'"GET /orders/{rnd.randrange(10**6)} HTTP/1.1" {rnd.choice((200, 404, 504))} 512 "-" '
                            f'"okhttp/4.12.0" rt=0.{rnd.randrange(1000):03d}')
        elif x < 0.9:
            messages.append(json.dumps({"ts": "2024-05-14T09:31:07.123Z", "level": "error", "route": "/orders/{id}",
                                        "trace_id": f"{rnd.getrandbits(128):032x}", "user_id": f"u-{rnd.randrange(10**5)}",
                                        "msg": "upstream timeout after 3000 ms"}))
        else:
            messages.append(rnd.choice(CORPUS)["text"])
    return messages


def test_throughput_on_10k_realistic_messages(redactor, record_property):
    messages = _realistic_messages(10_000)
    best = float("inf")
    for _ in range(3):  # best of three: the machine is shared, and the floor is about the code
        start = time.perf_counter()
        for message in messages:
            redactor.redact(message)
        best = min(best, time.perf_counter() - start)
    rate = len(messages) / best
    record_property("redaction_messages_per_second", round(rate))
    print(f"redaction throughput: {rate:,.0f} messages/s ({best * 1e6 / len(messages):.1f} µs each)")
    # Target 20k/s (measured ~35-40k/s on an idle core); half of it leaves room for a busy CI machine.
    assert rate >= 10_000
