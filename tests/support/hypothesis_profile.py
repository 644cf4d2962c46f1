"""Every property-based test's budget (loaded by tests/conftest.py, so one profile holds for the attack suite
and the adapters' properties alike): a bounded number of examples per property (the whole folder stays within a few
minutes on 2 cores), no deadline (the machine is shared), and the reproduction blob printed on failure
(Hypothesis also prints the seed: `pytest --hypothesis-seed=N` replays a run). Locally every run explores new
examples; under CI (`CI` set) the examples are derived from each test's name, so a submission's result does
not depend on a draw."""
import os

from hypothesis import HealthCheck, settings

settings.register_profile("attacks", max_examples=150, deadline=None, print_blob=True, derandomize=bool(os.environ.get("CI")),
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.function_scoped_fixture])
settings.load_profile("attacks")
