"""The security analyst on real DuckDB warehouses: each rule fires above its threshold and not below, a
success among failures makes a finding critical, spraying and stuffing are told apart, background logins
give nothing; then the simulator's attacks found by kind and address, and Loghub's Linux sshd log."""
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone

import duckdb
import pytest

from logintel.adapters.plain_text import parse_plain_text
from logintel.agents.analyst_report import ground_findings
from logintel.agents.finding import Scope
from logintel.agents.rule_overrides import rules_from
from logintel.agents.security.login_rules import Span
from logintel.agents.security.security_analyst import (
    DESCRIPTION,
    Campaign,
    analyse,
    campaign_figures,
    campaign_severity,
    campaign_wording,
)
from logintel.agents.security.security_rules import SecurityRules
from logintel.daily.days import DigestDay
from logintel.events import WideEvent
from logintel.simulate import injected_attacks
from logintel.simulate.scenarios import SCENARIOS
from logintel.simulate.simulation import simulate
from logintel.store.landing import HourBatch
from logintel.store.warehouse import ensure_schema, load_hour
from tests.support import REPO_ROOT

DAY = DigestDay(date(2026, 12, 2))
T0 = datetime(2026, 12, 2, 10, 0)
LINUX_LOG = REPO_ROOT.parent / "shared" / "data" / "loghub" / "Linux" / "Linux_2k.log"
ATTACKS = ["password_spraying", "brute_force", "account_enumeration"]


class Logins:
    """Login attempts on auth POST /login, built by hand."""

    def __init__(self):
        self.events: list[WideEvent] = []

    def add(self, ts: datetime, ip: str, user: str | None, status: int = 401, code: str | None = "INVALID_CREDENTIALS",
            agent: str = "curl/8.4.0", sample_rate: int = 1):
        code = code if status >= 400 else None
        self.events.append(WideEvent(
            event_id=f"e-{len(self.events):07d}", timestamp=ts.replace(tzinfo=timezone.utc), service="auth",
            route="/login", method="POST", status=status, duration_ms=40.0, level="warn" if status >= 400 else "info",
            error_code=code, user_id=user, client_ip=ip, user_agent=agent, sample_rate=sample_rate))
        return self

    def burst(self, ip: str, accounts: list[str], tries: int, minutes: float, start: datetime = T0, **kw):
        """Each account tried `tries` times, the attempts spread evenly over `minutes`."""
        plan = [a for _ in range(tries) for a in accounts]
        step = timedelta(minutes=minutes) / len(plan)
        for i, account in enumerate(plan):
            self.add(start + step * i, ip, account, **kw)
        return self

    def background(self, attempts: int = 2000, failure_every: int = 20):
        """A day of ordinary logins: each from its own address, one in 20 a mistyped password."""
        step = timedelta(hours=20) / attempts
        for i in range(attempts):
            failed = i % failure_every == 0
            self.add(DAY.start + step * i, f"81.{i // 250}.{i % 250}.7", f"u-{10000 + i % 900}",
                     status=401 if failed else 200, agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0")
        return self


def _warehouse(tmp_path, events: list[WideEvent]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_schema(con)
    by_hour = defaultdict(list)
    for event in events:
        by_hour[event.timestamp.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0,
                                                                  tzinfo=None)].append(event.to_json())
    for hour, lines in sorted(by_hour.items()):
        load_hour(con, HourBatch(hour=hour, lines=lines, sources=["test"] * len(lines)))
    return con


def _run(tmp_path, logins: Logins | list[WideEvent], rules: SecurityRules = SecurityRules(), scope: Scope | None = None):
    con = _warehouse(tmp_path, logins.events if isinstance(logins, Logins) else logins)
    report = ground_findings(con, analyse(con, scope or Scope.whole_day(DAY), rules))
    for finding in report.findings:  # every number, window and pair in a text is one of its facts
        assert finding.grounding["grounded"] is True, (finding.text, finding.grounding["reason"])
    return report


def _accounts(n: int, prefix: str = "u-") -> list[str]:
    return [f"{prefix}{20000 + i}" for i in range(n)]


@pytest.mark.parametrize("failures, fires", [(29, False), (31, True)])
def test_brute_force_fires_above_thirty_failures_in_five_minutes_not_below(tmp_path, failures, fires):
    report = _run(tmp_path, Logins().burst("45.1.2.3", ["u-777"], failures, minutes=4))
    assert [f.kind for f in report.findings] == (["brute_force"] if fires else [])
    if fires:
        (finding,) = report.findings
        assert finding.entities["client_ips"] == ["45.1.2.3"] and finding.severity == "medium"
        assert finding.evidence["per_address"]["45.1.2.3"]["failures"] == 31
        assert "31 failed attempts from 45.1.2.3" in finding.text
    else:
        assert report.abstained and "nothing that stands out" in report.summary()


def test_a_success_among_the_failures_makes_it_critical_and_names_the_account(tmp_path):
    logins = Logins().burst("45.1.2.3", ["u-777", "u-778"], 40, minutes=5)
    logins.add(T0 + timedelta(minutes=5, seconds=10), "45.1.2.3", "u-777", status=200)
    (finding,) = _run(tmp_path, logins).findings
    assert (finding.kind, finding.severity) == ("brute_force", "critical")
    assert finding.entities["compromised_accounts"] == ["u-777"]
    assert "1 account may be compromised" in finding.text and "u-777" in finding.action
    assert finding.evidence["failures"] == 80 and finding.evidence["successes"] == 1


def test_sample_rate_weights_the_counts(tmp_path):
    report = _run(tmp_path, Logins().burst("45.1.2.3", ["u-777"], 10, minutes=4, sample_rate=4))
    (finding,) = report.findings
    assert finding.kind == "brute_force" and finding.evidence["failures"] == 40


def test_stuffing_is_many_accounts_once_each_and_not_a_spray(tmp_path):
    (finding,) = _run(tmp_path, Logins().burst("185.9.9.9", _accounts(40), 1, minutes=10,
                                               agent="python-requests/2.31.0")).findings
    assert finding.kind == "credential_stuffing" and finding.entities["client_ips"] == ["185.9.9.9"]
    assert finding.evidence["accounts_targeted"] == 40 and finding.evidence["attempts"] == 40
    assert finding.text.startswith("Credential stuffing on auth POST /login from 10:00 to 10:09: 40 attempts "
                                   "against 40 accounts from 185.9.9.9")


def test_below_the_stuffing_rule_there_is_no_finding(tmp_path):
    assert _run(tmp_path, Logins().burst("185.9.9.9", _accounts(14), 1, minutes=10)).abstained  # < 15 accounts


def test_a_spray_is_several_tries_per_account_and_not_stuffing(tmp_path):
    (finding,) = _run(tmp_path, Logins().burst("91.7.7.7", _accounts(10), 4, minutes=40)).findings
    assert finding.kind == "password_spraying" and finding.severity == "medium"
    assert finding.evidence["accounts_targeted"] == 10 and finding.evidence["failures"] == 40
    assert "4.0 per account" in finding.text


def test_addresses_of_one_campaign_are_one_finding_listing_every_address(tmp_path):
    logins = Logins()
    for n, ip in enumerate(["185.9.9.1", "185.9.9.2", "185.9.9.3"]):
        logins.burst(ip, _accounts(30 + n, prefix=f"c{n}-"), 1, minutes=12, agent="python-requests/2.31.0")
    (finding,) = _run(tmp_path, logins).findings
    assert finding.kind == "credential_stuffing"
    assert finding.entities["client_ips"] == ["185.9.9.3", "185.9.9.2", "185.9.9.1"]  # most attempts first
    assert {ip: v["attempts"] for ip, v in finding.evidence["per_address"].items()} == {
        "185.9.9.1": 30, "185.9.9.2": 31, "185.9.9.3": 32}
    assert "93 attempts against 93 accounts from 3 addresses" in finding.text


def test_enumeration_is_unknown_usernames_not_stuffing(tmp_path):
    logins = Logins().burst("193.1.1.1", [f"admin{i}" for i in range(12)], 1, minutes=10, code="UNKNOWN_ACCOUNT")
    logins.burst("193.1.1.1", ["u-1", "u-2", "u-3"], 1, minutes=10)
    (finding,) = _run(tmp_path, logins).findings
    assert finding.kind == "account_enumeration" and finding.evidence["unknown_accounts"] == 12
    assert "12 unknown usernames among 15 attempts" in finding.text
    (tmp_path / "below").mkdir()
    assert _run(tmp_path / "below", Logins().burst("193.1.1.1", [f"admin{i}" for i in range(9)], 1, minutes=10,
                                                   code="UNKNOWN_ACCOUNT")).abstained  # < 10 names


def test_background_logins_give_nothing(tmp_path):
    report = _run(tmp_path, Logins().background())
    assert report.abstained and report.examined["login_attempts"] == 2000 and report.examined["addresses"] == 2000


def test_a_source_failing_far_more_than_the_rest_is_an_anomaly_when_no_rule_names_it(tmp_path):
    logins = Logins().background()
    for i in range(40):  # one try an account, slowly: no rule's window holds enough of them
        logins.add(DAY.start + timedelta(hours=1, minutes=20 * i), "203.0.113.50", f"u-{10000 + i}",
                   status=401 if i % 8 else 200)
    (finding,) = _run(tmp_path, logins).findings
    assert (finding.kind, finding.entities["client_ips"]) == ("failure_rate_anomaly", ["203.0.113.50"])
    assert finding.evidence["failures"] == 35 and finding.evidence["p_value"] < 1e-6


def test_thresholds_are_overridable_by_section(tmp_path):
    rules = rules_from(SecurityRules(), {"brute_force_failures": 40}, "security")
    assert rules.brute_force_failures == 40 and SecurityRules().brute_force_failures == 30
    assert _run(tmp_path, Logins().burst("45.1.2.3", ["u-777"], 35, minutes=4), rules).abstained
    with pytest.raises(ValueError, match="unknown rule"):
        rules_from(SecurityRules(), {"brute_force_failure": 40}, "security")
    assert "credential stuffing" in DESCRIPTION and "brute force" in DESCRIPTION


def _simulated(tmp_path, scenarios):
    sim = simulate(datetime(2026, 12, 2), hours=3, seed=7, scenarios=scenarios, requests_per_minute=60)
    con = _warehouse(tmp_path, sim.events)
    return sim, ground_findings(con, analyse(con, Scope.whole_day(DAY)))


def test_the_simulators_attacks_are_each_found_with_their_kind_and_addresses(tmp_path):
    sim, report = _simulated(tmp_path, [*SCENARIOS, *ATTACKS])
    found = {f.kind: f for f in report.findings}
    assert sorted(found) == ["account_enumeration", "brute_force", "credential_stuffing", "password_spraying"]
    assert all(f.grounding["grounded"] is True for f in report.findings)
    labels = {label.scenario: label for label in sim.labels}
    assert found["brute_force"].entities["client_ips"] == [labels["brute_force"].cause_value]
    assert found["brute_force"].severity == "critical"  # the last guess got in
    assert found["account_enumeration"].entities["client_ips"] == [labels["account_enumeration"].cause_value]
    assert sorted(found["password_spraying"].entities["client_ips"]) == sorted(injected_attacks.SPRAY_IPS)
    stuffing = found["credential_stuffing"]
    assert len(stuffing.entities["client_ips"]) == 6
    assert stuffing.entities["user_agents"][0] == labels["credential_stuffing"].cause_value
    for name, label in labels.items():  # each attack's finding overlaps its labelled window
        if name in found or name == "credential_stuffing":
            finding = found[name if name in found else "credential_stuffing"]
            assert finding.window[0] < label.end.replace(tzinfo=None) and finding.window[1] > label.start.replace(tzinfo=None)


def test_a_quiet_simulated_day_gives_no_finding(tmp_path):
    _, report = _simulated(tmp_path, [])
    assert report.abstained and report.examined["login_attempts"] > 50


@pytest.mark.skipif(not LINUX_LOG.exists(), reason="Loghub Linux_2k.log is not in ../shared/data")
def test_loghub_linux_sshd_brute_force_matches_a_count_by_hand(tmp_path):
    lines = LINUX_LOG.read_text(encoding="utf-8", errors="replace").splitlines()
    events = [parse_plain_text(line, source=f"Linux_2k.log:{n}", reference=date(2005, 12, 31))
              for n, line in enumerate(lines, 1)]
    # By hand: PAM failures per rhost; one address tried root 80 times within three minutes on Jul 10.
    by_hand = Counter(m[1] for line in lines if (m := re.search(r"authentication failure;.*rhost=(\S+)", line)))
    top, count = by_hand.most_common(1)[0]
    assert (top, count) == ("150.183.249.110", 80)
    assert {e.client_ip for e in events if e.client_ip} >= {"220-135-151-1.hinet-ip.hinet.net", "163.27.187.39"}
    start = min(e.timestamp for e in events).replace(tzinfo=None, minute=0, second=0)
    end = max(e.timestamp for e in events).replace(tzinfo=None) + timedelta(hours=1)
    report = _run(tmp_path, events, scope=Scope(DigestDay(start.date()), start, end))
    (finding,) = report.findings  # the other addresses made at most 23 attempts, none fast enough for a rule
    assert finding.kind == "brute_force" and finding.entities["client_ips"] == [top]
    assert finding.evidence["per_address"][top]["failures"] == by_hand[top] == 80
    assert finding.entities["accounts"] == ["root"] and finding.severity == "high"
    # Every source an attempt came from: PAM's rhost, klogind's and anonymous ftpd logins.
    sources = set(by_hand) | {m[1] for line in lines
                              if (m := re.search(r"(?:Authentication failed|ANONYMOUS FTP LOGIN) FROM ([^\s,]+)",
                                                 line, re.IGNORECASE))}
    assert report.examined["addresses"] == len(sources) == 49


# ---- a campaign's finding, step by step: figures, severity, wording ----------------------------------

def _figures(ip: str, attempts: int, accounts: list[str], agent: str = "curl/8.4.0", successes: int = 0,
             route: str = "auth POST /login") -> tuple[Span, dict]:
    first = T0 + timedelta(minutes=len(accounts))
    return (Span("brute_force", ip, first, first + timedelta(minutes=4), margin=attempts / 30),
            {"attempts": attempts, "failures": attempts - successes, "successes": successes, "unknown_failures": 0,
             "accounts": len(accounts), "account_names": accounts, "unknown_names": [],
             "compromised": accounts[:1] if successes else [], "first": first, "last": first + timedelta(minutes=4),
             "user_agents": {agent: attempts}, "target": route})


def _campaign(kind: str, failures: int, compromised: tuple[str, ...] = (), margin: float = 1.0) -> Campaign:
    return Campaign(kind=kind, addresses=["45.1.2.3"], first=T0, last=T0 + timedelta(minutes=4),
                    attempts=failures + len(compromised), failures=failures, successes=len(compromised), unknown=0,
                    unknown_accounts=0, accounts=["u-777"], compromised=list(compromised), agents=["curl/8.4.0"],
                    target="auth POST /login", targets=["auth POST /login"], margin=margin, per_address={})


def test_a_campaigns_figures_are_summed_over_its_addresses_the_busiest_first():
    campaign = campaign_figures("brute_force", [
        _figures("45.1.2.4", 31, ["u-1"], route="auth POST /signin"),
        _figures("45.1.2.3", 40, ["u-1", "u-2"], agent="hydra", successes=1)])
    assert campaign.addresses == ["45.1.2.3", "45.1.2.4"] and list(campaign.per_address) == campaign.addresses
    assert (campaign.attempts, campaign.failures, campaign.successes) == (71, 70, 1)
    assert campaign.accounts == ["u-1", "u-2"] and campaign.compromised == ["u-1"]
    assert campaign.agents == ["hydra", "curl/8.4.0"] and campaign.target == "auth POST /login"
    assert campaign.targets == ["auth POST /login", "auth POST /signin"] and campaign.margin == 40 / 30
    assert campaign.first == T0 + timedelta(minutes=1) and campaign.last == T0 + timedelta(minutes=6)


@pytest.mark.parametrize("kind, failures, compromised, severity", [
    ("brute_force", 59, (), "medium"), ("brute_force", 60, (), "high"),  # high at twice the rule's 30
    ("credential_stuffing", 49, (), "medium"), ("credential_stuffing", 50, (), "high"),  # twice 25
    ("password_spraying", 500, (), "medium"), ("account_enumeration", 500, (), "medium"),  # never high on volume
    ("brute_force", 31, ("u-777",), "critical"), ("account_enumeration", 12, ("u-777",), "critical"),
])
def test_severity_is_critical_once_in_high_at_twice_the_volume_rule(kind, failures, compromised, severity):
    assert campaign_severity(_campaign(kind, failures, compromised), SecurityRules())[0] == severity


def test_confidence_is_half_at_the_rules_edge_and_three_quarters_at_twice_it():
    confidence = [campaign_severity(_campaign("brute_force", 31, margin=m), SecurityRules())[1]
                  for m in (0.5, 1.0, 2.0, 4.0)]
    assert confidence == [0.5, 0.5, 0.75, 0.875]


def test_the_wording_states_the_campaigns_figures_and_what_to_do():
    words = campaign_wording(_campaign("brute_force", 31, ("u-777",)), Scope.whole_day(DAY))
    assert words.title == "Brute force from 45.1.2.3"
    assert words.text == ('Brute force on auth POST /login from 10:00 to 10:04: 31 failed attempts from 45.1.2.3 '
                          '(user_agent="curl/8.4.0") against 1 account; 3.1% succeeded — 1 account may be compromised.')
    assert words.action.startswith("Block or rate-limit the address at the edge; lock or step up (MFA)")
    assert "force a password reset and revoke the sessions of u-777" in words.action
    assert words.facts.counts[:3] == [32.0, 31.0, 1.0] and ("user_agent", "curl/8.4.0") in words.facts.attributes


# ---- real sshd shapes: lines with no account, IPv6 sources, preauth noise ---------------------------

def _sshd_burst(source: str, start: datetime, lines_per_kind: int) -> list[str]:
    """What sshd and pam_unix write for one source trying for a few minutes (shapes from sshd(8) and real
    logs): bad passwords for real and invalid users, PAM failures with and without user=, preauth noise."""
    kinds = [
        "sshd[{pid}]: Failed password for root from {src} port {port} ssh2",
        "sshd[{pid}]: Failed password for invalid user admin{n} from {src} port {port} ssh2",
        "sshd[{pid}]: Invalid user oracle{n} from {src} port {port}",
        "sshd[{pid}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={src}",
        "sshd[{pid}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={src}  user=root",
        "sshd[{pid}]: Failed none for invalid user  from {src} port {port} ssh2",
        "sshd[{pid}]: Disconnected from authenticating user root {src} port {port} [preauth]",
        "sshd[{pid}]: Connection closed by {src} port {port} [preauth]",
        "sshd[{pid}]: error: maximum authentication attempts exceeded for root from {src} port {port} ssh2 [preauth]",
    ]
    out, at = [], start
    for n in range(lines_per_kind):
        for k, kind in enumerate(kinds):
            at += timedelta(seconds=2)
            out.append(f"{at:%b %e %H:%M:%S} bastion " + kind.format(pid=4000 + n, n=n, src=source, port=50000 + k))
    return out


def test_real_sshd_shapes_with_unnamed_failures_and_ipv6_sources_are_analysed_not_crashed(tmp_path):
    start = datetime(2026, 11, 23, 3, 0)
    lines = (_sshd_burst("2001:db8::7", start, 12) + _sshd_burst("203.0.113.9", start, 12)
             + [f"{start + timedelta(minutes=9):%b %e %H:%M:%S} bastion sshd[99]: Accepted publickey for deploy "
                "from 2001:db8::1 port 40022 ssh2: ED25519 SHA256:abc"])
    events = [parse_plain_text(line, source=f"auth.log:{n}", reference=start.date()) for n, line in enumerate(lines)]
    unnamed = [e for e in events if e.attributes.get("auth.outcome") == "failure" and e.user_id is None]
    assert unnamed and {e.client_ip for e in unnamed} == {"2001:db8::7", "203.0.113.9"}
    for scope in (Scope(DigestDay(start.date()), start, start + timedelta(hours=1)), Scope.whole_day(DigestDay(start.date()))):
        folder = tmp_path / scope.key.replace(":", "")
        folder.mkdir()
        report = _run(folder, events, scope=scope)
        # a dozen invalid users each from both sources within minutes: enumeration, one campaign of two addresses
        (finding,) = [f for f in report.findings if f.kind == "account_enumeration"]
        assert finding.entities["client_ips"] == ["2001:db8::7", "203.0.113.9"]
        assert None not in finding.entities["accounts"] and "root" in finding.entities["accounts"]
        for address, figures in finding.evidence["per_address"].items():
            assert figures["failures_without_account"] == 24, address  # said in the evidence, not crashed on
        assert report.examined["login_attempts"] >= len(unnamed)
