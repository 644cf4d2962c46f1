"""Sampling policies: validation and files, the policy server (ETags, bearer auth, atomic persist), the poller."""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from logintel.cli import main
from logintel.ingest.policy import PolicyError, SamplingPolicy, load_policy
from logintel.ingest.policy_client import PolicyClient
from logintel.ingest.policy_server import POLICY_PATH, PolicyStore, make_server

TOKEN = "s3cret-token"


# -- validation and files -------------------------------------------------------------------------

@pytest.mark.parametrize("data, message", [
    ({"base_rate": 0}, "base_rate: must be between 1"),
    ({"base_rate": 50, "max_rate": 10}, "max_rate: must be >= base_rate"),
    ({"base_rate": 2.5}, "base_rate: expected an integer"),
    ({"base_rate": True}, "base_rate: expected an integer"),
    ({"bsae_rate": 10}, "unknown policy field(s): bsae_rate"),
    ({"buffer_high_water": 1.5}, "buffer_high_water: must be <= 1.0"),
    ({"target_events_per_s": 0}, "target_events_per_s: must be > 0"),
    ({"slow_ms": "fast"}, "slow_ms: expected a finite number"),
    ({"hysteresis": 0.5}, "hysteresis: must be >= 1.0"),
    ({"always_keep": {"service": "x"}}, "always_keep: expected a list"),
    ({"always_keep": [{"servce": "x"}]}, "always_keep[0]: unknown key(s) servce"),
    ({"always_keep": [{"status": "500"}]}, "always_keep[0].status: expected int"),
    ({"always_keep": [{}]}, "always_keep[0]: expected a non-empty object"),
    ([1, 2], "expected a JSON object"),
])
def test_invalid_policies_are_rejected_with_the_reason(data, message):
    with pytest.raises(PolicyError) as info:
        SamplingPolicy.from_dict(data)
    assert message in str(info.value)


def test_bad_json_is_a_policy_error():
    with pytest.raises(PolicyError, match="invalid JSON"):
        SamplingPolicy.from_json('{"base_rate": 10,')
    with pytest.raises(PolicyError, match="invalid JSON"):
        SamplingPolicy.from_json(b"\xff\xfe")


def test_policies_load_from_json_and_yaml_files(tmp_path):
    (tmp_path / "p.json").write_text(json.dumps({"version": 2, "base_rate": 5, "max_rate": 50,
                                                  "always_keep": [{"route_prefix": "/admin"}]}))
    (tmp_path / "p.yml").write_text("version: 3\nbase_rate: 5\nmax_rate: 500\nslow_ms: 250\n")
    (tmp_path / "bad.yaml").write_text("base_rate: [unclosed\n")
    json_policy = load_policy(tmp_path / "p.json")
    assert (json_policy.version, json_policy.max_rate, json_policy.always_keep) == (2, 50, ({"route_prefix": "/admin"},))
    assert load_policy(tmp_path / "p.yml").slow_ms == 250
    with pytest.raises(PolicyError, match="invalid YAML"):
        load_policy(tmp_path / "bad.yaml")
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.json")
    assert SamplingPolicy.from_json(json_policy.to_json()) == json_policy
    assert json_policy.etag.startswith('"2-') and json_policy.etag != load_policy(tmp_path / "p.yml").etag


# -- the server -----------------------------------------------------------------------------------

@pytest.fixture
def server(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"version": 7, "base_rate": 10, "max_rate": 100}))
    store = PolicyStore(path)
    httpd = make_server(store, "127.0.0.1", 0, TOKEN)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.store = store
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(10)


def request(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def put(url: str, payload, token: str | None = TOKEN):
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return request(url + POLICY_PATH, "PUT", body, headers)


def test_get_serves_the_policy_with_an_etag_and_304_when_unchanged(server):
    status, headers, body = request(server.url + POLICY_PATH)
    assert status == 200 and json.loads(body)["version"] == 7 and json.loads(body)["max_rate"] == 100
    etag = headers["ETag"]
    assert etag.startswith('"7-') and etag.endswith('"')
    assert request(server.url + POLICY_PATH, headers={"If-None-Match": etag})[0] == 304
    assert request(server.url + POLICY_PATH, headers={"If-None-Match": '"6-abc"'})[0] == 200
    status, _, body = request(server.url + "/healthz")
    assert status == 200 and json.loads(body) == {"status": "ok", "version": 7}
    assert request(server.url + "/nope")[0] == 404


def test_put_needs_the_bearer_token(server):
    status, headers, body = put(server.url, {"base_rate": 20, "max_rate": 200}, token=None)
    assert status == 401 and "Bearer" in headers["WWW-Authenticate"]
    status, _, body = put(server.url, {"base_rate": 20, "max_rate": 200}, token="wrong")
    assert status == 403 and "wrong token" in json.loads(body)["error"]
    assert server.store.current()[0].version == 7


def test_put_invalid_is_400_and_the_last_good_policy_stays(server, tmp_path):
    before = (tmp_path / "policy.json").read_text()
    for payload, reason in (({"base_rate": 0}, "base_rate"), ({"base_rate": 10, "max_rate": 5}, "max_rate"),
                            ({"rate": 3}, "unknown policy field"), (b"{not json", "invalid JSON")):
        status, _, body = put(server.url, payload)
        assert status == 400 and reason in json.loads(body)["error"]
    assert json.loads(request(server.url + POLICY_PATH)[2])["version"] == 7
    assert (tmp_path / "policy.json").read_text() == before


def test_put_valid_bumps_the_version_and_persists_atomically(server, tmp_path):
    old_etag = request(server.url + POLICY_PATH)[1]["ETag"]
    status, headers, body = put(server.url, {"version": 99, "base_rate": 20, "max_rate": 2000})
    assert status == 200 and json.loads(body)["version"] == 8  # the server owns the version
    assert headers["ETag"].startswith('"8-') and headers["ETag"] != old_etag
    assert request(server.url + POLICY_PATH, headers={"If-None-Match": old_etag})[0] == 200
    assert load_policy(tmp_path / "policy.json") == SamplingPolicy(version=8, base_rate=20, max_rate=2000)
    assert [p.name for p in tmp_path.iterdir()] == ["policy.json"]  # no temp files left behind
    assert PolicyStore(tmp_path / "policy.json").current()[0].version == 8  # a restart serves it


def test_cli_refuses_an_invalid_policy_file(tmp_path, capsys):
    bad = tmp_path / "p.json"
    bad.write_text('{"base_rate": -1}')
    assert main(["policy-server", "--policy", str(bad), "--port", "0"]) == 2
    assert "base_rate" in capsys.readouterr().err


# -- the client -----------------------------------------------------------------------------------

def test_client_applies_updates_and_uses_etags(server):
    applied = []
    client = PolicyClient(server.url + POLICY_PATH, interval_s=60, on_update=applied.append)
    assert client.poll() and applied[-1].version == 7
    assert not client.poll() and len(applied) == 1  # 304: nothing new
    assert put(server.url, {"base_rate": 50, "max_rate": 500})[0] == 200
    assert client.poll() and applied[-1].version == 8 and applied[-1].base_rate == 50
    assert client.describe()["errors"] == 0 and client.describe()["etag"].startswith('"8-')


def test_client_keeps_the_last_good_policy_when_the_server_goes_down(server):
    applied = []
    client = PolicyClient(server.url + POLICY_PATH, interval_s=60, on_update=applied.append, timeout_s=2)
    assert client.poll()
    server.shutdown()
    server.server_close()
    assert not client.poll()
    assert client.policy.version == 7 and len(applied) == 1
    assert client.describe()["errors"] == 1 and client.describe()["last_error"]


class Garbage(BaseHTTPRequestHandler):
    body = b"<html>not a policy</html>"

    def do_GET(self):
        self.send_response(200)
        self.send_header("ETag", '"9-x"')
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def test_client_survives_garbage_and_invalid_policies(server):
    applied = []
    client = PolicyClient(server.url + POLICY_PATH, interval_s=60, on_update=applied.append)
    assert client.poll()
    Garbage.body = b"<html>not a policy</html>"
    junk = ThreadingHTTPServer(("127.0.0.1", 0), Garbage)
    thread = threading.Thread(target=junk.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        client.source = f"http://127.0.0.1:{junk.server_address[1]}{POLICY_PATH}"
        assert not client.poll() and "invalid JSON" in client.last_error
        Garbage.body = json.dumps({"version": 9, "base_rate": 0}).encode()
        assert not client.poll() and "base_rate" in client.last_error
        assert client.policy.version == 7 and len(applied) == 1 and client.errors == 2
        client.source = server.url + POLICY_PATH  # back to the good server: recovers, error cleared
        put(server.url, {"base_rate": 3, "max_rate": 30})
        assert client.poll() and applied[-1].version == 8 and client.last_error is None
    finally:
        junk.shutdown()
        junk.server_close()
        thread.join(10)


def test_client_background_thread_applies_a_policy(server):
    got = threading.Event()
    client = PolicyClient(server.url + POLICY_PATH, interval_s=0.05, on_update=lambda p: got.set())
    client.start()
    try:
        assert got.wait(20)
    finally:
        client.stop()
    assert client.policy.version == 7


def test_client_follows_a_policy_file_by_mtime(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"version": 1, "base_rate": 2, "max_rate": 4}))
    applied = []
    client = PolicyClient(path, interval_s=60, on_update=applied.append)
    assert client.poll() and not client.poll()
    path.write_text(json.dumps({"version": 2, "base_rate": 2, "max_rate": 40}))
    assert client.poll() and applied[-1].max_rate == 40
    path.write_text("{garbage")
    assert not client.poll() and "invalid JSON" in client.last_error
    path.unlink()
    assert not client.poll() and client.policy.version == 2 and client.errors == 2


def test_put_nested_too_deep_is_400_not_a_dropped_connection(server):
    for depth in (200, 5_000):
        body = b'{"always_keep": ' + b"[" * depth + b"]" * depth + b"}"
        status, _, answer = put(server.url, body)
        assert status == 400 and "nested deeper than" in json.loads(answer)["error"]
    assert server.store.current()[0].version == 7


def test_put_takes_the_bearer_scheme_in_any_case(server):
    for scheme in ("bearer", "BEARER"):
        headers = {"Content-Type": "application/json", "Authorization": f"{scheme} {TOKEN}"}
        body = json.dumps({"base_rate": 20, "max_rate": 200}).encode()
        assert request(server.url + POLICY_PATH, "PUT", body, headers)[0] == 200
