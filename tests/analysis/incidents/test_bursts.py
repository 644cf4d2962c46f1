"""Where a cluster's bursts begin and end in an hour of per-minute counts (`cluster_incidents.bursts`)."""
from logintel.analysis.incidents.cluster_incidents import bursts


def _hour(**spans) -> list[int]:
    minutes = [0] * 60
    for key, count in spans.items():
        first, last = (int(x) for x in key[1:].split("_"))
        for m in range(first, last):
            minutes[m] = count
    return minutes


def test_a_ramp_that_fills_half_the_hour_is_one_burst_from_its_first_minute():
    """The burst outlasts half the hour, so the median window is inside it; background is the quieter quarter."""
    minutes = [0] * 25 + [4, 9, 6, 16, 18, 18, 18, 15, 22, 23, 37, 36, 23, 25, 20, 41, 33, 31, 30, 29, 32, 26, 30, 20,
                          23, 26, 18, 10, 8, 3] + [0] * 5
    assert bursts(minutes, 5, 5) == [(25, 55)]


def test_background_all_hour_and_two_spikes_are_two_bursts_of_their_own_minutes():
    minutes = [2 if m % 3 == 0 else 0 for m in range(60)]
    for m in list(range(10, 13)) + list(range(40, 43)):
        minutes[m] = 60
    found = bursts(minutes, 5, 5)
    # a background minute right beside a spike cannot be told from its first minute: one minute either side
    assert len(found) == 2
    for (first, last), onset in zip(found, (10, 40)):
        assert onset - 1 <= first <= onset and onset + 3 <= last <= onset + 4


def test_a_tail_above_the_burst_rate_stays_in_it_and_a_stray_error_after_it_does_not():
    minutes = _hour(m20_23=40, m23_26=6)
    minutes[29] = 1  # one stray error three minutes later
    assert bursts(minutes, 5, 5) == [(20, 26)]


def test_no_burst_in_silence_in_background_or_in_a_steady_outage():
    assert bursts([0] * 60, 5, 5) == []
    assert bursts([1] * 60, 5, 5) == []
    assert bursts([30] * 60, 5, 5) == []  # errs all hour at one rate: the rule incidents tell it


def test_a_burst_under_the_floor_is_none():
    assert bursts(_hour(m30_31=4), 5, 5) == []
    assert bursts(_hour(m30_31=5), 5, 5) == [(30, 31)]
