"""Which analysts a question or an automatic trigger goes to: the analysts' cards, and an offline,
deterministic router (weighted terms plus TF-IDF cosine to each card's description, over word stems)."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from logintel.agents.finding import AGENTS


@dataclass(frozen=True)
class AnalystCard:
    name: str
    description: str
    terms: dict[str, float]  # a word or phrase, as written (stemmed when the card is read) -> weight


CARDS: tuple[AnalystCard, ...] = (
    AnalystCard(
        name="sre",
        description=(
            "Reliability and performance of the services and their routes: latency percentiles (p50, p95, p99) "
            "and error rates, their trends and regressions, outages, degradations, timeouts and 5xx failures, "
            "incidents and what is paging on-call; forecasts of when a latency or error rate will cross its "
            "threshold; service level objectives, error budgets and multiwindow burn-rate alerts; availability "
            "and uptime, and whether a deploy made things worse."),
        terms={
            "p99": 4, "p95": 4, "p50": 3, "p90": 4, "percentile": 3, "latency": 4, "slow": 1.5, "slower": 2,
            "sluggish": 2, "response time": 3, "tail latency": 4, "how long": 1, "lag": 2,
            "slo": 5, "slos": 5, "sla": 4, "service level": 4, "error budget": 6, "burn rate": 5, "burn-rate": 5,
            "burning": 1.5, "breach": 1.5, "objective": 2,
            "outage": 5, "down": 2, "downtime": 4, "uptime": 4, "availability": 4, "available": 2,
            "reliability": 4, "reliable": 3, "stable": 2, "stability": 3, "flaky": 2, "degraded": 4,
            "degradation": 4, "error rate": 4, "errors": 2, "error": 1.5, "failing": 2, "failures": 1.5,
            "5xx": 4, "500": 2, "502": 3, "503": 3, "504": 3, "timeout": 3, "timeouts": 3, "timing out": 3,
            "crash": 3, "crashing": 3, "broken": 2, "incident": 3, "incidents": 3, "paged": 3, "page": 1.5,
            "paging": 3, "on-call": 3, "oncall": 3, "alert": 2, "alerts": 2, "alerting": 2,
            "forecast": 4, "trend": 3, "trending": 3, "threshold": 2, "cross": 1, "regression": 3,
            "deploy": 3, "deployment": 3, "release": 2, "rollback": 3, "spike": 2, "healthy": 1.5,
            "performance": 2, "users seeing": 1, "tonight": 1, "by tomorrow": 1, "getting worse": 3,
            "worse": 1.5, "5 nines": 3, "nines": 3,
        }),
    AnalystCard(
        name="security",
        description=(
            "Security of logins and access: credential stuffing, password spraying, brute force against accounts "
            "and account enumeration, read from failed logins (invalid credentials, rate limiting, 401 and 403 "
            "answers), sshd and PAM authentication logs; suspicious client addresses and user agents, bots and "
            "attackers, compromised or taken-over accounts, lockouts, and which addresses to block."),
        terms={
            "security": 5, "secure": 2, "attack": 5, "attacked": 5, "attacker": 5, "attacking": 5, "hammering": 4,
            "hammer": 4, "brute force": 6, "bruteforce": 6, "brute-force": 6, "credential stuffing": 7,
            "stuffing": 5, "credential": 4, "credentials": 4, "password": 4, "passwords": 4, "spraying": 5,
            "spray": 5, "login": 4, "logins": 4, "log in": 3, "sign in": 3, "signin": 3, "sign-in": 3,
            "auth": 4, "authentication": 4, "unauthorized": 4, "unauthorised": 4, "401": 4, "403": 4,
            "forbidden": 3, "429": 2, "rate limited": 3, "rate limiting": 3, "lockout": 4, "locked out": 4,
            "account": 3, "accounts": 3, "compromised": 6, "compromise": 5, "takeover": 6, "taken over": 6,
            "hacked": 6, "hacker": 6, "hacking": 6, "intrusion": 6, "breach": 1.5, "suspicious": 5,
            "malicious": 5, "bot": 4, "bots": 4, "botnet": 5, "scraper": 3, "scraping": 3, "scanning": 3,
            "scanner": 3, "enumeration": 5, "enumerate": 5, "probing": 4, "ip": 3, "ips": 3, "address": 1.5,
            "addresses": 1.5, "user agent": 4, "user-agent": 4, "ssh": 5, "sshd": 6, "pam": 5, "threat": 4,
            "block": 3, "blocklist": 4, "ban": 3, "firewall": 3, "ddos": 4, "abuse": 4, "fraud": 4,
            "invalid credentials": 6, "failed login": 6, "failed logins": 6, "failed sign-in": 6,
            "failed sign in": 6, "sudo": 4, "privilege": 4,
            "root login": 5, "mfa": 4, "2fa": 4, "otp": 3, "phishing": 5, "who is trying": 3, "someone": 1.5,
            "somebody": 1.5, "tor": 3, "vpn": 2, "country": 2, "foreign": 2,
        }),
    AnalystCard(
        name="efficiency",
        description=(
            "Efficiency and cost of the work the services do: where processing time goes (hotspot routes and "
            "operations by total CPU time), the share of time spent in the database, N+1 query patterns, "
            "retries per trace and retry storms, payload and response sizes, wasted or duplicated work, and "
            "the estimated savings in compute time and money from fixing each."),
        terms={
            "efficiency": 5, "efficient": 5, "inefficient": 5, "inefficiency": 5, "cost": 5, "costs": 5,
            "costly": 5, "bill": 5, "billing": 2, "expensive": 5, "cheaper": 4, "spend": 4, "spending": 4,
            "money": 4, "dollars": 4, "save": 5, "saving": 5, "savings": 5, "waste": 5, "wasted": 5,
            "wasting": 5, "optimize": 5, "optimise": 5, "optimization": 5, "optimisation": 5, "cpu": 5,
            "compute": 4, "processing time": 5, "hotspot": 5, "hotspots": 5, "hot path": 5, "heaviest": 3,
            "database time": 6, "db time": 6, "database": 3, "db": 3, "sql": 3, "query": 3, "queries": 3,
            "n+1": 7, "n plus one": 7, "slow query": 6, "slow queries": 6, "retry": 4, "retries": 4,
            "retrying": 4, "retry storm": 6, "payload": 5, "payloads": 5, "response size": 5, "bytes": 3,
            "bandwidth": 4, "egress": 4, "memory": 3, "resources": 3, "resource": 3, "overhead": 4,
            "chatty": 4, "duplicate": 3, "duplicated": 3, "redundant": 4, "cache": 3, "caching": 3,
            "profile": 3, "profiling": 3, "time spent": 4, "where does the time go": 5, "cut": 2, "reduce": 2,
            "trim": 3, "scale down": 3, "infrastructure cost": 6, "cloud": 3, "invoice": 5, "budget": 1,
            "pay": 4, "paying": 4, "price": 4, "pricing": 4,
        }),
)
CARD_BY_NAME = {card.name: card for card in CARDS}
assert tuple(CARD_BY_NAME) == AGENTS  # a new analyst needs a card

# A question about everything ("what happened overnight?") goes to every analyst.
BROAD_TERMS = ("overnight", "overview", "health", "summary", "summarize", "summarise", "what happened",
               "anything", "everything", "status", "briefing", "digest", "report", "going on", "state of",
               "should i know", "last night", "this morning", "today", "recap", "wrong", "all systems",
               "big picture", "highlights")
# A second analyst is asked too when its score is at least this share of the first's.
SPAN_SHARE = 0.5
SIMILARITY_WEIGHT = 6.0  # the cosine (0..1) in the units of the terms' weights

_WORD = re.compile(r"[a-z0-9]+(?:[+\-][a-z0-9]+)*\+?")
_STOPWORDS = frozenset("""a an the and or of to in on for is are was were be been being it its this that these
those what which who whom how why when where do does did any our we us you your i me my there their they them
with from by at as so if than then too very can could would should will just about into over any all more most
some much many get got has have had not no yes up out""".split())
_SUFFIXES = ("ations", "ation", "ings", "ing", "edly", "ers", "ies", "ied", "er", "ed", "es", "ly", "s")


def stem(word: str) -> str:
    """A crude suffix stripper, applied alike to cards and questions so that variants meet."""
    if len(word) > 3 and word.endswith("s") and word[:-1].isalnum() and word[0].isdigit():
        return word[:-1]  # "503s", "5xxs"
    if "-" in word and word[-1].isalpha():  # "sign-ins" -> "sign-in"
        head, _, last = word.rpartition("-")
        tail = stem(last)
        if tail == last and last.endswith("s") and not last.endswith("ss") and len(last) >= 3:
            tail = last[:-1]  # a short plural tail the stemmer leaves alone ("ins", "ups")
        return f"{head}-{tail}"
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                continue
            base = word[: -len(suffix)]
            if suffix in ("ies", "ied"):
                base += "i"
            # running -> run, logging -> log; but not "ss", "ll", "zz"
            if suffix in ("ing", "ed", "er", "ers", "ings") and len(base) > 3 and base[-1] == base[-2] \
                    and base[-1] not in "lsz":
                base = base[:-1]
            return base
    return word[:-1] + "i" if word.endswith("y") and len(word) > 4 else word


def tokens(text: str) -> list[str]:
    return [stem(word) for word in _WORD.findall(text.lower())]


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(tokens(text))


# term stems -> {analyst: weight}; one lexicon, so an ambiguous word carries its weight to each analyst.
_LEXICON: dict[tuple[str, ...], dict[str, float]] = {}
for _card in CARDS:
    for _term, _weight in _card.terms.items():
        _LEXICON.setdefault(_phrase(_term), {})[_card.name] = float(_weight)
_BY_LENGTH = sorted(_LEXICON, key=lambda p: (-len(p), p))
_SINGLE = sorted(p[0] for p in _LEXICON if len(p) == 1)
_BROAD = [_phrase(t) for t in BROAD_TERMS]


def _documents() -> dict[str, list[str]]:
    return {card.name: [t for t in tokens(card.description + " " + " ".join(card.terms)) if t not in _STOPWORDS]
            for card in CARDS}


_DOCS = _documents()
_IDF = {t: math.log((1 + len(_DOCS)) / (1 + sum(t in set(d) for d in _DOCS.values()))) + 1.0
        for d in _DOCS.values() for t in d}


def _vector(words: list[str]) -> dict[str, float]:
    counts: dict[str, int] = {}
    for w in words:
        if w in _IDF:
            counts[w] = counts.get(w, 0) + 1
    vector = {w: (1 + math.log(n)) * _IDF[w] for w, n in counts.items()}
    norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
    return {w: v / norm for w, v in vector.items()}


_DOC_VECTORS = {name: _vector(words) for name, words in _DOCS.items()}


def _edits(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance, giving up (limit + 1) once it must exceed `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] | None = None
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if previous2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _corrected(word: str) -> str:
    """A misspelt word as the lexicon's nearest term (one edit for short words, two for long ones)."""
    if word in _IDF or word in _STOPWORDS or not word.isalpha() or len(word) < 5:
        return word
    limit = 1 if len(word) < 8 else 2
    best = min(((_edits(word, term, limit), term) for term in _SINGLE if term.isalpha() and len(term) >= 4),
               default=(limit + 1, word))
    return best[1] if best[0] <= limit else word


def _term_scores(words: list[str]) -> dict[str, float]:
    """The lexicon's weights for the phrases found, longest first: a matched phrase's words are used up
    ("error budget" is the SRE's, so "budget" no longer counts for efficiency)."""
    used = [False] * len(words)
    scores = dict.fromkeys(AGENTS, 0.0)
    for phrase in _BY_LENGTH:
        n = len(phrase)
        for i in range(len(words) - n + 1):
            if tuple(words[i:i + n]) == phrase and not any(used[i:i + n]):
                for j in range(i, i + n):
                    used[j] = True
                for name, weight in _LEXICON[phrase].items():
                    scores[name] += weight
                break  # a term counts once however often it is repeated
    return scores


def _is_broad(words: list[str]) -> bool:
    joined = " " + " ".join(words) + " "
    return any(" " + " ".join(p) + " " in joined for p in _BROAD)


def route(question: str) -> list[tuple[str, float]]:
    """The analysts to ask, most relevant first, each with its share of the relevance (0..1).

    More than one when the question spans them; all three for a broad question or one with nothing to
    go on (then in the order sre, security, efficiency)."""
    words = [_corrected(w) for w in tokens(question)]
    scores = _term_scores(words)
    query = _vector([w for w in words if w not in _STOPWORDS])
    for name, doc in _DOC_VECTORS.items():
        scores[name] += SIMILARITY_WEIGHT * sum(v * doc.get(w, 0.0) for w, v in query.items())
    broad = _is_broad(words)
    if broad:
        scores = {name: score + 1.0 for name, score in scores.items()}  # everyone has something to say
    total = sum(scores.values())
    order = sorted(AGENTS, key=lambda name: (-round(scores[name], 9), AGENTS.index(name)))
    if total <= 0:
        return [(name, round(1 / len(AGENTS), 3)) for name in AGENTS]
    top = scores[order[0]]
    chosen = [name for name in order if name == order[0] or scores[name] >= SPAN_SHARE * top]
    if broad and top < 2 * SIMILARITY_WEIGHT:
        chosen = order  # a broad question that names no one concern strongly
    return [(name, round(scores[name] / total, 3)) for name in chosen]


# --- automatic triggers ---------------------------------------------------------------------------

SECURITY_CODES = frozenset({"INVALID_CREDENTIALS", "RATE_LIMITED", "UNAUTHORIZED", "FORBIDDEN", "ACCOUNT_LOCKED",
                            "AUTH_FAILED", "INVALID_TOKEN", "TOKEN_EXPIRED", "MFA_FAILED", "ACCESS_DENIED"})
SECURITY_STATUSES = frozenset({401, 403, 429})
_AUTH_ROUTE = re.compile(r"login|logon|signin|sign-in|auth|token|session|password|oauth|sso|mfa|2fa|otp|ssh",
                         re.IGNORECASE)
_PERSONAL_ATTRIBUTES = ("client_ip", "client.address", "source.ip", "user_agent", "user_agent.original",
                        "user_id", "user.id", "user.name", "geo", "country")
# The incident kinds (threshold, cluster, cause) say how it was found, not whose concern it is.
_SRE_KINDS = re.compile(r"burn|slo|latency|p9\d|forecast|availability|outage|error_rate|trend", re.IGNORECASE)
_EFFICIENCY_KINDS = re.compile(r"cost|cpu|hotspot|n_plus_one|n\+1|retry|retries|payload|db_time|database|"
                               r"efficien|saving", re.IGNORECASE)
_SECURITY_KINDS = re.compile(r"stuffing|spray|brute|enumerat|auth|login|ssh|pam|suspicious|security|lockout",
                             re.IGNORECASE)
_DB_ATTRIBUTE = re.compile(r"^(db|database|sql)\b|query|statement", re.IGNORECASE)


def _codes(trigger: dict) -> set[str]:
    codes = {str(trigger.get("error_code") or "")} | {str(c) for c in trigger.get("error_codes") or []}
    return {c.upper() for c in codes if c}


def _statuses(trigger: dict) -> set[int]:
    found = set()
    for value in [trigger.get("status"), trigger.get("status_code"), trigger.get("http_status"),
                  *(trigger.get("statuses") or [])]:
        try:
            found.add(int(value))
        except (TypeError, ValueError):
            pass  # an incident's "open"/"resolved" status is not an HTTP one
    for code in _codes(trigger):  # "403", "HTTP_429"
        found |= {int(number) for number in re.findall(r"(?<!\d)[1-5]\d\d(?!\d)", code)}
    return found


def route_trigger(trigger: dict) -> list[str]:
    """The analysts an automatic trigger (an incident, an alert, a finding's kind) goes to, first the one
    whose concern it most looks like; the SRE analyst reviews every incident after that."""
    cause = trigger.get("root_cause") or {}
    cause = cause if isinstance(cause, dict) else {}
    kind = f"{trigger.get('kind') or ''} {trigger.get('alert') or ''} {trigger.get('agent') or ''}"
    routes = " ".join(str(r) for r in [trigger.get("route"), *(trigger.get("routes") or [])] if r)
    attribute = str(cause.get("attribute") or "")
    scores = dict.fromkeys(AGENTS, 0.0)
    scores["sre"] += 1.0  # incidents are reliability events unless something says otherwise
    if _SRE_KINDS.search(kind) or trigger.get("burn_rate") is not None:
        scores["sre"] += 2.0
    if _SECURITY_KINDS.search(kind):
        scores["security"] += 4.0
    if cause.get("kind") == "client":
        scores["security"] += 3.0
    if attribute in _PERSONAL_ATTRIBUTES:
        scores["security"] += 1.5
    if _codes(trigger) & SECURITY_CODES:
        scores["security"] += 3.0
    if _statuses(trigger) & SECURITY_STATUSES:
        scores["security"] += 3.0
    if _AUTH_ROUTE.search(routes):
        scores["security"] += 2.0
    if _EFFICIENCY_KINDS.search(kind):
        scores["efficiency"] += 4.0
    if _DB_ATTRIBUTE.search(attribute) or (cause.get("kind") == "dependency" and "db" in str(cause.get("value"))):
        scores["efficiency"] += 1.0  # a second look; the incident itself stays the SRE's
    order = sorted(AGENTS, key=lambda name: (-scores[name], AGENTS.index(name)))
    return [name for name in order if scores[name] >= 1.0 or name == "sre"]
