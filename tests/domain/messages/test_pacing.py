"""The send governor's schedule, on a fake clock."""

from __future__ import annotations

import pytest

from app.telegram.pacing import PacingLimits, PacingRefused, SendGovernor


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_one_message_per_second_per_chat_and_other_chats_are_independent():
    clock = Clock()
    governor = SendGovernor(PacingLimits(per_chat_interval_s=1.0, per_account_per_minute=600), clock)
    assert governor.reserve("p", 1, group=False) == 0
    assert governor.reserve("p", 1, group=False) == pytest.approx(1.0)
    assert governor.reserve("p", 1, group=False) == pytest.approx(2.0)
    assert governor.reserve("p", 2, group=False) == 0
    assert governor.reserve("q", 1, group=False) == 0  # another profile


def test_groups_allow_a_burst_of_twenty_per_minute_then_space_sends():
    clock = Clock()
    governor = SendGovernor(
        PacingLimits(per_chat_interval_s=0.0, per_group_per_minute=20, per_account_per_minute=1000, max_wait_s=10),
        clock,
    )
    waits = [governor.reserve("p", -5, group=True) for _ in range(20)]
    assert waits == [0] * 20
    assert governor.reserve("p", -5, group=True) == pytest.approx(3.0)
    assert governor.reserve("p", -5, group=True) == pytest.approx(6.0)
    assert governor.reserve("p", -5, group=True) == pytest.approx(9.0)
    with pytest.raises(PacingRefused) as refused:
        governor.reserve("p", -5, group=True)
    assert refused.value.retry_after == pytest.approx(12.0)
    clock.now += 60
    assert governor.reserve("p", -5, group=True) == 0


def test_account_rate_spans_chats():
    clock = Clock()
    governor = SendGovernor(PacingLimits(per_chat_interval_s=0, per_account_per_minute=2, max_wait_s=100), clock)
    assert governor.reserve("p", 1, group=False) == 0
    assert governor.reserve("p", 2, group=False) == 0
    assert governor.reserve("p", 3, group=False) == pytest.approx(30.0)
