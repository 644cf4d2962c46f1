"""The attack suite's budget: a bounded number of examples per property (the whole folder stays within a few
minutes on 2 cores), no deadline (the machine is shared), and the reproduction blob printed on failure
(Hypothesis also prints the seed: `pytest --hypothesis-seed=N` replays a run)."""
from hypothesis import HealthCheck, settings

settings.register_profile("attacks", max_examples=150, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.function_scoped_fixture])
settings.load_profile("attacks")
