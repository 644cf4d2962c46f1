"""Who sends the traffic: signed-in users, anonymous visitors, their IPs, user agents and regions.

Activity is heavy-tailed (a few users make many requests, most make a few), and a user keeps a
home IP, with a second (mobile) IP for some, so per-user and per-IP signals look like real ones.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from logintel.simulate.topology import SERVICES

REGIONS = ("us-east-1", "eu-west-1", "ap-northeast-2")
REGION_SHARE = np.array([0.5, 0.3, 0.2])
# First octets of consumer address space per region; attack traffic comes from elsewhere.
_REGION_OCTETS = ((24, 50, 67, 71, 73, 76, 98, 99, 104, 108),
                  (62, 78, 81, 86, 89, 92, 109, 151, 176, 217),
                  (1, 14, 27, 39, 58, 112, 121, 175, 211, 222))
HOSTING_OCTETS = (45, 91, 185, 193, 194)

_WEBKIT = "AppleWebKit/537.36 (KHTML, like Gecko)"
_SAFARI = "AppleWebKit/605.1.15 (KHTML, like Gecko)"
CLIENT_AGENTS = (
    f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_WEBKIT} Chrome/124.0.0.0 Safari/537.36",
    f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_SAFARI} Version/17.4 Safari/605.1.15",
    f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_WEBKIT} Chrome/124.0.0.0 Safari/537.36",
    f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) {_SAFARI} Version/17.4 Mobile/15E148 Safari/604.1",
    f"Mozilla/5.0 (Linux; Android 14; Pixel 8) {_WEBKIT} Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_WEBKIT} Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
    "ShopApp/5.12.0 (iPhone; iOS 17.4.1; Scale/3.00)",
    "ShopApp/5.12.0 (Android 14; SM-S918B)",
    "ShopApp/5.11.2 (Android 13; Pixel 7)",
)
CLIENT_AGENT_SHARE = np.array([0.22, 0.08, 0.07, 0.16, 0.12, 0.05, 0.05, 0.12, 0.09, 0.04])
HEALTH_AGENT = "ELB-HealthChecker/2.0"
WEBHOOK_AGENT = "PGProvider-Webhooks/2.3 (+https://pg-provider.example/webhooks)"
SCRIPTED_AGENT = "python-requests/2.31.0"


# Every user agent string by number: clients first, then fixed clients, then one per service
# for the calls services make to each other.
AGENTS = CLIENT_AGENTS + (HEALTH_AGENT, WEBHOOK_AGENT, SCRIPTED_AGENT) + tuple(
    f"{s.name}/{s.version} (internal)" for s in SERVICES)
AGENT_HEALTH = len(CLIENT_AGENTS)
AGENT_WEBHOOK = AGENT_HEALTH + 1
AGENT_SCRIPTED = AGENT_HEALTH + 2
AGENT_FIRST_SERVICE = AGENT_HEALTH + 3
# The tool the opt-in attacks of injected_attacks.py script with; appended so the numbers above never move.
ATTACK_TOOL_AGENT = "Go-http-client/1.1"
AGENTS = AGENTS + (ATTACK_TOOL_AGENT,)
AGENT_ATTACK_TOOL = len(AGENTS) - 1


def ipv4(value: int) -> str:
    return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


def public_ips(rng: np.random.Generator, regions: np.ndarray) -> np.ndarray:
    """One plausible consumer IPv4 address (as uint32) per entry of `regions`."""
    octets = np.array(_REGION_OCTETS)[regions, rng.integers(0, len(_REGION_OCTETS[0]), len(regions))]
    rest = rng.integers(0, 1 << 24, len(regions), dtype=np.int64)
    rest = (rest & ~np.int64(255)) | rng.integers(2, 254, len(regions))  # no .0/.1/.255 hosts
    return ((octets.astype(np.int64) << 24) | rest).astype(np.uint32)


@dataclass
class Population:
    # Account ids; the first `active` have activity, the rest are dormant accounts that only
    # show up when someone tries leaked credentials against them.
    user_ids: list[str]
    active: int
    activity: np.ndarray
    region: np.ndarray
    home_ip: np.ndarray
    mobile_ip: np.ndarray
    mobile_share: np.ndarray
    agent: np.ndarray
    visitor_activity: np.ndarray
    visitor_region: np.ndarray
    visitor_ip: np.ndarray
    visitor_agent: np.ndarray
    lb_ips: np.ndarray
    webhook_ips: np.ndarray
    worker_ips: np.ndarray


def _private(rng: np.random.Generator, n: int) -> np.ndarray:
    return ((10 << 24) | rng.integers(0, 1 << 24, n)).astype(np.uint32)


def build_population(rng: np.random.Generator, active_users: int, visitors: int) -> Population:
    total = active_users + active_users // 4
    digits = max(5, len(str(total * 4)))
    numbers = rng.choice(9 * 10 ** (digits - 1), size=total, replace=False) + 10 ** (digits - 1)
    user_ids = [f"u-{n}" for n in numbers.tolist()]

    activity = rng.lognormal(0.0, 1.3, active_users)
    region = rng.choice(len(REGIONS), active_users, p=REGION_SHARE).astype(np.int8)
    home_ip = public_ips(rng, region)
    has_mobile = rng.random(active_users) < 0.25
    mobile_ip = np.where(has_mobile, public_ips(rng, region), 0).astype(np.uint32)
    mobile_share = np.where(has_mobile, rng.uniform(0.1, 0.4, active_users), 0.0)
    agent = rng.choice(len(CLIENT_AGENTS), active_users, p=CLIENT_AGENT_SHARE).astype(np.int16)

    visitor_region = rng.choice(len(REGIONS), visitors, p=REGION_SHARE).astype(np.int8)
    return Population(
        user_ids=user_ids, active=active_users, activity=activity / activity.sum(), region=region,
        home_ip=home_ip, mobile_ip=mobile_ip, mobile_share=mobile_share, agent=agent,
        visitor_activity=(w := rng.lognormal(0.0, 0.8, visitors)) / w.sum(),
        visitor_region=visitor_region, visitor_ip=public_ips(rng, visitor_region),
        visitor_agent=rng.choice(len(CLIENT_AGENTS), visitors, p=CLIENT_AGENT_SHARE).astype(np.int16),
        lb_ips=_private(rng, 3), webhook_ips=public_ips(rng, np.zeros(4, dtype=np.int8)),
        worker_ips=_private(rng, 2),
    )
