"""The SLO book: the packaged default, overrides, files that are broken, and error-budget burn."""
import tomllib
from importlib.resources import files
from pathlib import Path

import pytest

from logintel.daily.slo import Slo, burn, load_slos

ROOT = Path(__file__).resolve().parents[2]


def test_the_default_book_ships_with_the_package():
    assert files("logintel.daily").joinpath("default_slos.yaml").is_file()
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "daily/default_slos.yaml" in package_data["logintel"]  # so a wheel carries it
    book = load_slos(None)
    assert book.default == Slo(availability=0.999, p99_ms=1000.0, period_days=30.0)
    assert book.for_route("nobody", "/anything") == book.default


def test_the_most_specific_objective_wins_field_by_field(tmp_path):
    path = tmp_path / "slos.yaml"
    path.write_text("""
default: {availability: 0.99, p99_ms: 800, period_days: 28}
services:
  payments:
    availability: 0.9995
    routes:
      /charge: {p99_ms: 3000}
      "*": {p99_ms: 1500}
""")
    book = load_slos(path)
    assert book.for_route("payments", "/charge") == Slo(0.9995, 3000.0, 28.0)  # availability from its service
    assert book.for_route("payments", "/refunds") == Slo(0.9995, 1500.0, 28.0)  # the service's own '*' row
    assert book.for_route("payments", "*") == Slo(0.9995, 1500.0, 28.0)
    assert book.for_route("orders", "/charge") == Slo(0.99, 800.0, 28.0)


@pytest.mark.parametrize("text, problem", [
    ("default: [unclosed", "not valid YAML"),
    ("default: {p99_ms: fast}", "default.p99_ms must be a number"),
    ("default: {p99_ms: true}", "default.p99_ms must be a number"),
    ("default: {availability: 99.9}", "between 0 and 1"),
    ("default: {p99: 100}", "unknown key(s) p99"),
    ("services: {search: {routes: [a, b]}}", "services.search.routes must be a mapping"),
    ("- just a list", "expected a mapping"),
])
def test_a_broken_file_raises_naming_the_file_and_the_problem(tmp_path, text, problem):
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(ValueError) as caught:
        load_slos(path)
    assert str(path) in str(caught.value) and problem in str(caught.value)


def test_a_missing_file_raises_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="missing.yaml: cannot be read"):
        load_slos(tmp_path / "missing.yaml")


def test_burn_on_hand_computed_examples():
    slo = Slo(availability=0.999, p99_ms=1000.0, period_days=30.0)
    hour = burn(slo, requests=10_000, errors=50, p99_ms=1200.0, hours=1)
    assert hour["error_rate"] == pytest.approx(0.005)
    assert hour["budget_rate"] == pytest.approx(0.001)
    assert hour["burn_rate"] == pytest.approx(5.0)
    # 50 of the 30 days' budget of 0.001 * 10,000 * 720 = 7,200 errors
    assert hour["budget_consumed"] == pytest.approx(50 / 7200)
    assert hour["latency_breach"] is True and hour["p99_objective_ms"] == 1000.0
    # Exactly the budget's rate for the whole period spends exactly the whole budget.
    period = burn(slo, requests=1_000_000, errors=1_000, p99_ms=900.0, hours=720)
    assert period["burn_rate"] == pytest.approx(1.0) and period["budget_consumed"] == pytest.approx(1.0)
    assert period["latency_breach"] is False
    idle = burn(slo, requests=0, errors=0, p99_ms=None, hours=1)
    assert (idle["error_rate"], idle["burn_rate"], idle["budget_consumed"], idle["latency_breach"]) == (0, 0, 0, False)
