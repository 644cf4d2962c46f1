"""The security analyst's read-only SQL over raw_events: login attempts counted per source address in
hopping time windows, the figures of an attack's addresses over its span, and failure rates per address
and per user agent against the scope's. Counts are weighted by sample_rate; distinct accounts are not."""
from __future__ import annotations

from datetime import datetime

import duckdb

_OUTCOME = """json_extract_string(attributes, '$."auth.outcome"')"""
_REASON = """json_extract_string(attributes, '$."auth.reason"')"""
# A credential check: a POST to a login-like path segment (a token refresh or a logout is not one), or
# anything an adapter marked with auth.outcome (sshd, PAM, ftpd lines).
LOGIN_ROUTE_SQL = ("(method = 'POST' AND regexp_matches(lower(route), "
                   "'(^|/)(log-?in|sign-?in|signon|sessions?|token|oauth|auth|authenticate)(/|$)') "
                   "AND NOT regexp_matches(lower(route), 'refresh|log-?out|sign-?out'))")
_AUTH_CODE = ("regexp_matches(upper(coalesce(error_code, '')), "
              "'CREDENTIAL|PASSWORD|UNKNOWN_ACCOUNT|USER_NOT_FOUND|ACCOUNT_NOT_FOUND|UNKNOWN_USER|LOCKED|LOGIN_FAILED')")
_UNKNOWN = (f"({_REASON} = 'unknown_account' OR upper(coalesce(error_code, '')) IN "
            "('UNKNOWN_ACCOUNT', 'USER_NOT_FOUND', 'ACCOUNT_NOT_FOUND', 'UNKNOWN_USER') OR "
            # "invalid username or password" is a wrong password, not an unknown account: whole words only.
            "regexp_matches(lower(coalesce(error_message, '')), '\\b(invalid user|unknown user|user unknown|no such user)\\b'))")
# One row per attempt in [$start, $end): failed, succeeded (neither: a 5xx), unknown account, weight.
ATTEMPTS_CTE = f"""
attempts AS (
    SELECT ts, client_ip, user_id, user_agent, service, route, method, coalesce(sample_rate, 1) AS w,
           failed, NOT failed AND (outcome = 'success' OR (outcome IS NULL AND coalesce(status, 200) < 400
                                                            AND error_code IS NULL)) AS succeeded,
           failed AND unknown AS unknown
    FROM (SELECT *, coalesce(outcome = 'failure', FALSE) OR (outcome IS NULL AND
                    (coalesce(status, 0) IN (401, 403, 429) OR {_AUTH_CODE})) AS failed
          FROM (SELECT *, {_OUTCOME} AS outcome, {_UNKNOWN} AS unknown FROM raw_events
                WHERE ts >= $start AND ts < $end
                  AND ({LOGIN_ROUTE_SQL} OR {_OUTCOME} IS NOT NULL)))
)"""
_ORIGIN = "TIMESTAMP '2000-01-03 00:00:00'"


def window_counts(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime, minutes: int,
                  min_failures: float) -> list[dict]:
    """Per source address and window of `minutes` (hopping by half a window, so a burst across a
    boundary is still whole in one), where it failed at least `min_failures` times: attempts, failures,
    successes, unknown-account failures, accounts failed on (and unknown ones), the most failures on one
    account, how many accounts failed at most twice and 2-6 times, first and last attempt."""
    sql = f"""
    WITH {ATTEMPTS_CTE},
    hops AS (
        SELECT *, time_bucket(to_minutes(CAST($minutes AS BIGINT)), ts, {_ORIGIN}) AS win FROM attempts
        WHERE client_ip IS NOT NULL
        UNION ALL
        SELECT *, time_bucket(to_minutes(CAST($minutes AS BIGINT)), ts,
                              {_ORIGIN} + to_seconds(CAST($minutes * 30 AS BIGINT))) AS win FROM attempts
        WHERE client_ip IS NOT NULL
    ),
    per_account AS (
        SELECT client_ip, win, user_id, sum(w) AS attempts, coalesce(sum(w) FILTER (failed), 0) AS failures,
               coalesce(sum(w) FILTER (succeeded), 0) AS successes,
               coalesce(sum(w) FILTER (unknown), 0) AS unknown_failures, min(ts) AS first, max(ts) AS last
        FROM hops GROUP BY client_ip, win, user_id
    )
    SELECT client_ip, win, sum(attempts) AS attempts, sum(failures) AS failures, sum(successes) AS successes,
           sum(unknown_failures) AS unknown_failures,
           coalesce(sum(failures) FILTER (user_id IS NOT NULL), 0) AS named_failures,
           count(user_id) FILTER (failures > 0) AS failed_accounts,
           count(user_id) FILTER (unknown_failures > 0) AS unknown_accounts,
           coalesce(max(failures) FILTER (user_id IS NOT NULL), 0) AS max_per_account,
           count(user_id) FILTER (failures > 0 AND failures <= 2) AS accounts_at_most_two,
           count(user_id) FILTER (failures >= 2 AND failures <= 6) AS accounts_two_to_six,
           min(first) AS first, max(last) AS last
    FROM per_account GROUP BY client_ip, win
    HAVING sum(failures) >= $min_failures
    ORDER BY client_ip, win"""
    cursor = con.execute(sql, {"start": start, "end": end, "minutes": minutes, "min_failures": min_failures})
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def span_figures(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime,
                 spans: list[tuple[str, datetime, datetime]]) -> list[dict]:
    """For each (address, first, last) span, in order: its attempts, failures, successes, unknown-account
    failures, accounts tried (and their names), the accounts that got in, the unknown ones tried, user agents by attempts, and
    where (service, method, route) most attempts went."""
    if not spans:
        return []
    sql = f"""
    WITH {ATTEMPTS_CTE},
    spans AS (SELECT unnest($ids) AS span, unnest($ips) AS ip, unnest($firsts) AS first, unnest($lasts) AS last),
    hit AS (SELECT spans.span, attempts.* FROM attempts JOIN spans
            ON attempts.client_ip = spans.ip AND attempts.ts >= spans.first AND attempts.ts <= spans.last)
    SELECT span, sum(w) AS attempts, coalesce(sum(w) FILTER (failed), 0) AS failures,
           coalesce(sum(w) FILTER (succeeded), 0) AS successes, coalesce(sum(w) FILTER (unknown), 0) AS unknown_failures,
           count(DISTINCT user_id) AS accounts,
           list(DISTINCT user_id ORDER BY user_id) FILTER (user_id IS NOT NULL) AS account_names,
           coalesce(sum(w) FILTER (failed AND user_id IS NULL), 0) AS unnamed_failures,
           list(DISTINCT user_id ORDER BY user_id) FILTER (succeeded AND user_id IS NOT NULL) AS compromised,
           list(DISTINCT user_id ORDER BY user_id) FILTER (unknown AND user_id IS NOT NULL) AS unknown_names,
           min(ts) AS first, max(ts) AS last,
           mode(service || CASE WHEN route = '(log)' THEN '' ELSE ' ' || coalesce(method || ' ', '') || route END)
               AS target
    FROM hit GROUP BY span ORDER BY span"""
    params = {"start": start, "end": end, "ids": list(range(len(spans))), "ips": [s[0] for s in spans],
              "firsts": [s[1] for s in spans], "lasts": [s[2] for s in spans]}
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    rows = {row[0]: dict(zip(names, row)) for row in cursor.fetchall()}
    agents = con.execute(f"""
    WITH {ATTEMPTS_CTE},
    spans AS (SELECT unnest($ids) AS span, unnest($ips) AS ip, unnest($firsts) AS first, unnest($lasts) AS last)
    SELECT spans.span, attempts.user_agent, sum(attempts.w) AS n FROM attempts JOIN spans
        ON attempts.client_ip = spans.ip AND attempts.ts >= spans.first AND attempts.ts <= spans.last
    WHERE attempts.user_agent IS NOT NULL
    GROUP BY ALL ORDER BY spans.span, n DESC, attempts.user_agent""", params).fetchall()
    for span, agent, n in agents:
        rows[span].setdefault("user_agents", {})[agent] = n
    return [rows.get(i) for i in range(len(spans))]


def failure_rates(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime, min_failures: float) -> list[dict]:
    """Attempts, failures, accounts and addresses for the whole scope (the row whose `dimension` is 'scope': the
    baseline a source's failure rate is tested against), then per source address and per user agent
    that failed at least `min_failures` times."""
    sql = f"""
    WITH {ATTEMPTS_CTE}
    SELECT CASE WHEN grouping(client_ip) = 0 THEN 'client_ip' WHEN grouping(user_agent) = 0 THEN 'user_agent'
                ELSE 'scope' END AS dimension,
           coalesce(client_ip, user_agent) AS value, sum(w) AS attempts,
           coalesce(sum(w) FILTER (failed), 0) AS failures, coalesce(sum(w) FILTER (succeeded), 0) AS successes,
           count(DISTINCT user_id) AS accounts, count(DISTINCT client_ip) AS addresses,
           min(client_ip) AS lowest_address, min(ts) AS first, max(ts) AS last
    FROM attempts
    GROUP BY GROUPING SETS ((client_ip), (user_agent), ())
    HAVING (grouping(client_ip) = 1 AND grouping(user_agent) = 1)
        OR (coalesce(client_ip, user_agent) IS NOT NULL AND coalesce(sum(w) FILTER (failed), 0) >= $min_failures)
    ORDER BY dimension DESC, value"""
    cursor = con.execute(sql, {"start": start, "end": end, "min_failures": min_failures})
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]
