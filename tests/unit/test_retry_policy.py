import random

import pytest

from services.engine.retry_policy import RetryPolicy
from services.engine.task_classes import DEFAULT, MAINTENANCE, REFRESH, REPORTS


def test_default_policy_is_design_md_3_retries_60s_first_exponential_capped_at_3600s():
    policy = RetryPolicy()
    assert (policy.max_retries, policy.first_delay_s, policy.max_delay_s) == (3, 60, 3600)
    no_jitter = RetryPolicy(jitter=0)
    assert [no_jitter.delay_s(n) for n in range(8)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_jitter_adds_at_most_a_quarter_and_never_breaks_the_cap():
    policy = RetryPolicy()
    rng = random.Random(7)
    delays = [policy.delay_s(1, rng=rng) for _ in range(1000)]
    assert min(delays) >= 120 and max(delays) <= 150
    assert len(set(delays)) > 900
    assert all(policy.delay_s(10, rng=rng) == 3600 for _ in range(100))


def test_override_changes_only_named_fields_and_refuses_unknown_ones():
    assert RetryPolicy().overridden({"max_retries": 0}) == RetryPolicy(max_retries=0)
    with pytest.raises(ValueError, match="unknown retry option"):
        RetryPolicy().overridden({"retries": 1})
    with pytest.raises(ValueError, match="incoherent"):
        RetryPolicy().overridden({"max_retries": -1})


def test_time_limits_per_class_follow_design_md():
    assert DEFAULT.time_limit_s == 300
    assert REFRESH.time_limit_s == 600
    assert REPORTS.time_limit_s == 1800
    assert MAINTENANCE.time_limit_s == 3600
