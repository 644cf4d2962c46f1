"""The opt-in login attacks the security analyst must find: password spraying, brute force and account
enumeration, each as new rows on auth POST /login from its own hosting-provider addresses."""
from __future__ import annotations

import numpy as np

from logintel.simulate.faults import fail
from logintel.simulate.injection import Injection
from logintel.simulate.population import AGENT_ATTACK_TOOL, CLIENT_AGENTS, REGIONS
from logintel.simulate.table import EventTable
from logintel.simulate.topology import PODS_PER_REGION, SERVICE_INDEX, SERVICES, route_index

# Fixed addresses (first octets from population.HOSTING_OCTETS), so each scenario's label can name its source.
SPRAY_IPS = ("91.240.118.31", "91.240.118.32", "91.240.118.45")
BRUTE_FORCE_IP = "45.155.205.233"
ENUMERATION_IP = "193.42.33.14"
# A spray hides behind a browser's user agent; the other two are scripted.
SPRAY_AGENT = CLIENT_AGENTS.index("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0")
# Usernames from a wordlist: none is a population id (those are u-<digits>).
_WORDS = ("admin", "test", "info", "support", "sales", "office", "contact", "guest", "user", "demo", "web",
          "mail", "service", "billing", "shop", "root", "oracle", "backup", "dev", "staff")
_SUFFIXES = ("", "1", "01", "123")


def _ip(text: str) -> int:
    a, b, c, d = (int(part) for part in text.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def _login_rows(inj: Injection, ts: np.ndarray, accounts: np.ndarray, ips: np.ndarray, agent: int) -> EventTable:
    """Attempts on auth POST /login at `ts`, one per account index and address, tagged with the scenario."""
    rng, n = inj.rng, len(ts)
    region = REGIONS.index("eu-west-1")
    rows = EventTable.new(
        n, ts_us=ts.astype(np.int64), route=route_index("auth POST /login"), user=accounts.astype(np.int32),
        ip=ips.astype(np.uint32), agent=agent, region=region, version=SERVICES[SERVICE_INDEX["auth"]].version,
        scenario=inj.tag)
    rows.stamp_ids(rng)
    rows["host"][:] = region * PODS_PER_REGION + rng.integers(0, PODS_PER_REGION, n)
    own = rng.lognormal(np.log(180.0), 0.25, n)
    rows["own_ms"][:] = own
    rows["db_ms"][:] = own * 0.15 * rng.uniform(0.7, 1.0, n)
    return rows


def _sorted(ts: np.ndarray, *columns: np.ndarray) -> tuple[np.ndarray, ...]:
    order = np.argsort(ts, kind="stable")
    return (ts[order],) + tuple(c[order] for c in columns)


def password_spraying(inj: Injection) -> EventTable:
    """A slow spray: each address tries a dozen real accounts a few times each (3-6), spread over the
    window, never fast enough to trip a per-minute limiter; none of the guesses works."""
    rng, window, population = inj.rng, inj.window, inj.population
    accounts = rng.choice(population.active, 40, replace=False)
    # Each address owns its share of the accounts: a spray rotates passwords, not sources, per account.
    owner = np.arange(len(accounts)) % len(SPRAY_IPS)
    tries = rng.integers(3, 7, len(accounts))
    account = np.repeat(accounts, tries)
    ip = np.repeat(np.array([_ip(a) for a in SPRAY_IPS], dtype=np.uint32)[owner], tries)
    ts = rng.integers(window.start_us, window.end_us, len(account))
    ts, account, ip = _sorted(ts, account, ip)
    rows = _login_rows(inj, ts, account, ip, SPRAY_AGENT)
    fail(rows, np.arange(len(rows)), "bad_credentials", rng, inj.tag)
    return EventTable.concat([inj.table, rows])


def brute_force(inj: Injection) -> EventTable:
    """One address hammers one account (and a second, briefly) at about 40 attempts a minute; the very
    last attempt on the main account gets the password right."""
    rng, window, population = inj.rng, inj.window, inj.population
    minutes = max(1.0, (window.end_us - window.start_us) / 60e6)
    n = max(2, int(rng.poisson(40.0 * minutes)))
    ts = np.sort(rng.integers(window.start_us, window.end_us, n))
    target, other = rng.choice(population.active, 2, replace=False)
    account = np.where(rng.random(n) < 0.85, target, other)
    account[-1] = target
    rows = _login_rows(inj, ts, account, np.full(n, _ip(BRUTE_FORCE_IP), dtype=np.uint32), AGENT_ATTACK_TOOL)
    fail(rows, np.arange(n - 1), "bad_credentials", rng, inj.tag)
    return EventTable.concat([inj.table, rows])


def account_enumeration(inj: Injection) -> EventTable:
    """One address walks a username wordlist, once per name: most names have no account here (401
    UNKNOWN_ACCOUNT), the few real ones it mixes in fail on the password."""
    rng, window, population = inj.rng, inj.window, inj.population
    names = [f"{word}{suffix}" for word in _WORDS for suffix in _SUFFIXES]
    # The names join this run's population (it is built per run) so the rows can point at them; they sit
    # after every real account, where no background request or earlier scenario draws from.
    first = len(population.user_ids)
    population.user_ids.extend(names)
    unknown = first + rng.permutation(len(names))[:60]
    known = rng.choice(population.active, 25, replace=False)
    account = rng.permutation(np.concatenate([unknown, known]))
    ts = np.sort(rng.integers(window.start_us, window.end_us, len(account)))
    rows = _login_rows(inj, ts, account, np.full(len(account), _ip(ENUMERATION_IP), dtype=np.uint32),
                       AGENT_ATTACK_TOOL)
    is_unknown = account >= first
    fail(rows, np.flatnonzero(is_unknown), "unknown_account", rng, inj.tag)
    fail(rows, np.flatnonzero(~is_unknown), "bad_credentials", rng, inj.tag)
    return EventTable.concat([inj.table, rows])

