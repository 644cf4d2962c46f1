"""The analysts' findings: SRE, security and efficiency for each day, and security again every hour so an
attack is seen within the hour; each stored in the warehouse's findings table, shown as a table here, with
a grounding check. A high or critical hourly security finding asks for a situation briefing."""
from datetime import timedelta

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.metadata import markdown_table
from assets.partitions import (
    FINDINGS_POOL,
    WAREHOUSE_POOL,
    daily_asset,
    daily_partitions,
    hourly_asset,
    hourly_partitions,
    partition_day,
    partition_hour,
)
from logintel.agents.analyst_report import AnalystReport
from logintel.agents.finding import Scope
from logintel.agents.findings_check import verify_findings
from logintel.agents.run import run_analyst
from logintel.agents.saved_findings import replace_findings
from logintel.briefings.finding_briefing import finding_candidates
from logintel.daily.days import DigestDay
from logintel.store.findings import RUNS_TABLE, TABLE, scope_partition
from logintel.store.lake.hour_runs import HistoryReach
from logintel.trust.claim_share import grounded_pct
from resources.settings import LogintelSettings
from resources.warehouse import WarehouseResource

HOURS = dg.TimeWindowPartitionMapping()
FINDINGS_TABLES = (TABLE, RUNS_TABLE)
COLUMNS = ["severity", "kind", "finding", "confidence", "grounded", "text"]


def _materialize(context, warehouse: WarehouseResource, logintel: LogintelSettings, agent: str,
                 scope: Scope) -> tuple[AnalystReport, dict]:
    # On the lake the findings are lake tables, partitioned by their scope's hour or day, which the analysts of a day
    # share: the session starts with the other runs' rows of that partition (an analyst reads no findings and
    # replaces only its own scope's, so no earlier partition) and publishes the partition this run replaced.
    with warehouse.hour_connection(scope_partition(scope.key, scope.day.day), writes=FINDINGS_TABLES,
                                   history=FINDINGS_TABLES, reach=HistoryReach(back=timedelta(0))) as con:
        report = run_analyst(con, agent, scope, logintel.settings())
        replace_findings(con, report)
    for note in report.notes:
        context.log.warning(note)
    grounding = report.grounding()
    rows = [{"severity": f.severity, "kind": f.kind, "finding": f.finding_id, "confidence": f"{f.confidence:.2f}",
             "grounded": {True: "✓", False: "⚠", None: "○"}[(f.grounding or {}).get("grounded")], "text": f.text}
            for f in report.findings]
    by_severity = {}
    for f in report.findings:
        by_severity[f.severity] = by_severity.get(f.severity, 0) + 1
    return report, {
        "summary": report.summary(),
        "findings": len(report.findings),
        "by_severity": dg.MetadataValue.json(by_severity),
        "examined": dg.MetadataValue.json(report.examined),
        "grounded_pct": grounded_pct(grounding["ratio"]),
        "table": markdown_table(rows, COLUMNS),
    }


def _daily(agent: str, description: str, deps: list):
    @daily_asset(name=f"{agent}_findings", group_name="analysts", deps=deps, description=description,
                 pool=FINDINGS_POOL)
    def findings(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                 logintel: LogintelSettings) -> dg.MaterializeResult:
        _, metadata = _materialize(context, warehouse, logintel, agent, Scope.whole_day(partition_day(context)))
        return dg.MaterializeResult(metadata=metadata)
    return findings


sre_findings = _daily("sre", "Per route: multiwindow burn-rate pages (14.4× over 1 h and 5 min, 6× over 6 h and 30 "
                             "min) and tickets (1× over 3 days and 6 h) against the SLO file, guarded time-to-threshold "
                             "forecasts of the p99 (with the lead they gave over the static alarm), slow trends.",
                      [dg.AssetDep("incidents", partition_mapping=HOURS)])
security_findings = _daily("security", "Login attacks over the day: credential stuffing, password spraying, brute "
                                       "force, account enumeration (Elastic-grade thresholds), and addresses or user "
                                       "agents failing far more than the rest; every offending address with its counts.",
                           [dg.AssetDep("raw_events", partition_mapping=HOURS)])
efficiency_findings = _daily("efficiency", "Where the day's processing and database time go: the costliest routes, "
                                           "database share, N+1 queries, retries per trace, payload sizes — each with "
                                           "its estimated saving a day.",
                             [dg.AssetDep("raw_events", partition_mapping=HOURS)])


@hourly_asset(group_name="security", deps=["raw_events"], pool=FINDINGS_POOL,
              description="The security analyst over one hour, so an attack is seen within the hour; a high or "
                          "critical finding asks for a situation briefing (its briefing_candidates).")
def hourly_security_findings(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                             logintel: LogintelSettings) -> dg.MaterializeResult:
    hour, zone = partition_hour(context), logintel.settings().digest_timezone
    day = DigestDay(DigestDay(hour.date(), zone).local(hour).date(), zone)
    report, metadata = _materialize(context, warehouse, logintel, "security", Scope.hour(day, hour))
    return dg.MaterializeResult(metadata={**metadata,
                                          "briefing_candidates": dg.MetadataValue.json(finding_candidates(report.findings))})


def _check(asset, agent: str, hourly: bool = False):
    @dg.asset_check(asset=asset, name=f"{asset.key.path[-1]}_grounded", pool=WAREHOUSE_POOL,
                    partitions_def=hourly_partitions if hourly else daily_partitions,
                    description="Every stored finding's text grounded again against its own figures and the "
                                "warehouse's names: an invented name or an ungrounded finding fails it.")
    def check(context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource,
              logintel: LogintelSettings) -> dg.AssetCheckResult:
        zone = logintel.settings().digest_timezone
        if hourly:
            hour = partition_hour(context)
            day = DigestDay(DigestDay(hour.date(), zone).local(hour).date(), zone)
            scope = Scope.hour(day, hour).key
        else:
            day = partition_day(context)
            scope = day.key
        with warehouse.get_connection() as con:
            verdict = verify_findings(con, day, agent, scope)
        return dg.AssetCheckResult(
            passed=verdict.passed,
            severity=dg.AssetCheckSeverity.ERROR if verdict.invented else dg.AssetCheckSeverity.WARN,
            description=verdict.description(),
            metadata={"findings": verdict.findings, "claims": verdict.claims, "grounded_pct": verdict.share.percent(),
                      "invented": len(verdict.invented),
                      "ungrounded": markdown_table(verdict.ungrounded[:20], ["finding", "text", "why"])})
    return check


FINDINGS_ASSETS = [sre_findings, security_findings, efficiency_findings, hourly_security_findings]
FINDINGS_CHECKS = [_check(sre_findings, "sre"), _check(security_findings, "security"),
                   _check(efficiency_findings, "efficiency"), _check(hourly_security_findings, "security", hourly=True)]
