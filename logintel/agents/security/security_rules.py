"""The security analyst's defaults (each overridable in the `security` section of LOGINTEL_ANALYST_RULES);
what each rule means is in security_analyst.py's docstring, after elastic/detection-rules."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SecurityRules:
    stuffing_window_minutes: int = 15
    stuffing_failures: int = 25
    stuffing_accounts: int = 15
    stuffing_max_per_account: float = 2.0      # mean failures per account, at most
    stuffing_low_share: float = 0.8            # of the accounts failed at most twice, at least
    spraying_window_minutes: int = 60
    spraying_failures: int = 15
    spraying_accounts: int = 5
    spraying_min_per_account: float = 2.0      # mean failures per account, above (at 2 or less: stuffing)
    spraying_max_per_account: float = 8.0
    spraying_band_share: float = 0.6           # of the accounts failed 2-6 times, at least
    spraying_min_minutes: int = 5
    brute_force_window_minutes: int = 5
    brute_force_failures: int = 30
    brute_force_max_accounts: int = 3
    enumeration_window_minutes: int = 15
    enumeration_unknown_accounts: int = 10
    enumeration_unknown_share: float = 0.5     # also the share under which the other rules apply
    enumeration_unnamed_failures: int = 30
    enumeration_unnamed_share: float = 0.9
    anomaly_min_failures: int = 20
    anomaly_max_p: float = 1e-6
    anomaly_min_ratio: float = 3.0
    high_volume_factor: float = 2.0            # stuffing or brute force at this many times the rule: high
    accounts_listed: int = 50
