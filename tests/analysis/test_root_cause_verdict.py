"""The root-cause statistic and verdict on small hand-built tables: a value both sides carry gets no
credit, the specific beats the generic, the deepest slowed dependency wins, nothing found says so."""
import math

import pytest

from logintel.analysis.root_cause.kinds import kind_of
from logintel.analysis.root_cause.statistics import lift, p_value
from logintel.analysis.root_cause.verdict import Contrast, Slowdown, decide


def contrast(attribute, value, share_f, share_b, n_f=200, n_b=2000, specificity=1):
    lifted = float(lift([share_f * n_f], [n_f], [share_b * n_b], [n_b])[0])
    p = float(p_value([round(share_f * n_f)], [n_f], [round(share_b * n_b)], [n_b])[0])
    return Contrast(attribute, value, share_f, share_b, lifted, p, round(share_f * n_f), round(share_b * n_b),
                    specificity=specificity)


def test_lift_is_the_ratio_of_shares_and_an_absent_baseline_value_stays_finite():
    assert lift([50], [100], [100], [1000])[0] == pytest.approx(5.0)
    absent = lift([100], [100], [0], [1000])[0]
    assert math.isfinite(absent) and absent == pytest.approx(2000.0)  # floored at half an event


def test_p_value_is_small_only_when_the_failing_side_is_richer():
    assert p_value([90], [100], [100], [1000])[0] < 1e-30
    assert p_value([10], [100], [100], [1000])[0] > 0.4   # the same share on both sides
    assert p_value([0], [100], [500], [1000])[0] == pytest.approx(1.0)


def test_a_value_healthy_requests_carry_as_often_gets_no_credit():
    cause = decide([contrast("db.system", "postgresql", 1.0, 1.0), contrast("region", "eu-west-1", 0.3, 0.28)], [],
                   {"orders"})
    assert cause.kind == "unknown" and cause.value is None
    # the top contrasts are listed, not named, ranked by how much more often the failures carry them
    assert [e["attribute"] for e in cause.evidence] == ["region", "db.system"]


def test_a_new_version_on_every_failing_request_is_a_deploy():
    cause = decide([contrast("version", "4.2.0", 1.0, 0.0), contrast("region", "eu-west-1", 0.4, 0.35)], [],
                   {"catalog"})
    assert (cause.kind, cause.attribute, cause.value) == ("deploy", "version", "4.2.0")
    assert cause.confidence == pytest.approx(1.0)
    assert cause.evidence[0]["share_baseline"] == 0.0 and cause.evidence[0]["p_value"] < 1e-6


def test_among_equal_explainers_the_specific_attribute_wins():
    generic = contrast("server.cluster", "search-eu", 1.0, 0.3, specificity=1)
    specific = contrast("server.address", "opensearch-data-2", 0.98, 0.29, specificity=3)
    assert decide([generic, specific], [], {"search"}).value == "opensearch-data-2"


def slow(metric, by, value, before, after, services, share=1.0, specificity=1):
    return Slowdown(metric, by, value, before, after, 100, 1000, services=services, share_failing=share,
                    specificity=specificity)


def test_the_slowed_instance_beats_the_technology_it_runs():
    cause = decide([], [slow("db.duration_ms", "db.system", "postgresql", 5, 3000, ["orders"], 1.0, 1),
                        slow("db.duration_ms", "db.instance", "orders-db-primary", 5, 4600, ["orders"], 0.6, 4)],
                   {"orders"})
    assert (cause.kind, cause.attribute, cause.value) == ("dependency", "db.instance", "orders-db-primary")
    assert cause.evidence[0]["before_ms"] == 5 and cause.evidence[0]["after_ms"] == 4600


def test_the_deepest_slowed_dependency_of_a_call_chain_wins():
    # gateway -> orders -> payments -> pg-provider: each caller's peer slowed, only the provider is the cause
    chain = [slow("peer.duration_ms", "peer.service", "orders", 600, 9000, ["gateway"]),
             slow("peer.duration_ms", "peer.service", "payments", 500, 8900, ["orders"]),
             slow("upstream.duration_ms", "upstream", "pg-provider", 120, 8100, ["payments"], share=0.4)]
    cause = decide([], chain, {"gateway", "orders", "payments"})
    assert (cause.attribute, cause.value) == ("upstream", "pg-provider")


def test_a_latency_that_barely_moved_is_no_slowdown():
    cause = decide([], [slow("db.duration_ms", "db.instance", "orders-db-primary", 10, 25, ["orders"])], {"orders"})
    assert cause.kind == "unknown"


def test_an_access_pattern_lists_the_other_client_values():
    contrasts = [contrast("user_agent", "python-requests/2.31.0", 1.0, 0.0)] + [
        contrast("client_ip", f"203.0.113.{i}", 0.2, 0.0) for i in range(4)]
    cause = decide(contrasts, [], {"auth"})
    assert cause.kind == "client" and cause.value == "python-requests/2.31.0"
    assert {e["value"] for e in cause.evidence} >= {f"203.0.113.{i}" for i in range(4)}


@pytest.mark.parametrize("attribute, kind", [
    ("db.instance", "dependency"), ("peer.service", "dependency"), ("upstream", "dependency"),
    ("server.address", "dependency"), ("version", "deploy"), ("service.version", "deploy"),
    ("client_ip", "client"), ("user_agent", "client"), ("host", "infrastructure"), ("k8s.pod.name", "infrastructure"),
    ("region", "infrastructure")])
def test_kinds_follow_the_attribute_family(attribute, kind):
    assert kind_of(attribute) == kind
