"""Several workers on one database keep, together, to a provider's overall limits: each
paces itself at its share; a chat's own pace stays whole."""

from __future__ import annotations

from bot.outbound.dispatch import ChannelLimits, RateLimiter


class Clock:
    """A monotonic clock that only moves when the limiter sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _limiter() -> tuple[RateLimiter, Clock]:
    clock = Clock()
    limits = {"telegram": ChannelLimits(per_second=30, per_chat_per_second=1,
                                        per_group_per_minute=20),
              "sms": ChannelLimits(per_sender_per_second=1)}
    return RateLimiter(limits=limits, monotonic=clock, sleep=clock.sleep), clock


def _send_to_many(limiter: RateLimiter, clock: Clock, count: int) -> float:
    start = clock.now
    for n in range(count):
        limiter.acquire("telegram", str(100 + n))
    return clock.now - start


def test_one_worker_sends_at_the_whole_rate() -> None:
    limiter, clock = _limiter()
    assert abs(_send_to_many(limiter, clock, 31) - 1.0) < 1e-9  # 30 intervals of 1/30 s


def test_two_workers_each_keep_to_half_of_the_channels_rate() -> None:
    limiter, clock = _limiter()
    limiter.share_with(2)
    assert abs(_send_to_many(limiter, clock, 31) - 2.0) < 1e-9
    # Back to the whole rate when the other worker stops.
    limiter.share_with(1)
    # The slot already promised at the shared pace, then 1/30 s apart again.
    assert abs(_send_to_many(limiter, clock, 31) - (2 / 30 + 30 / 30)) < 1e-9


def test_a_chats_own_pace_is_not_shared() -> None:
    limiter, _ = _limiter()
    limiter.share_with(4)
    limiter.acquire("telegram", "42")
    waited = limiter.acquire("telegram", "42")
    # One message a second to one chat, not one every four seconds.
    assert waited is not None and abs(waited - 1.0) < 1e-9


def test_a_groups_pace_and_a_numbers_pace_are_shared() -> None:
    limiter, _ = _limiter()
    limiter.share_with(2)
    limiter.acquire("telegram", "-100200")
    waited = limiter.acquire("telegram", "-100200")
    assert waited is not None and abs(waited - 6.0) < 1e-9  # 20 a minute for two workers
    limiter.acquire_lane("sms", "+32470000001", ("+3225550100",))
    slot = limiter.acquire_lane("sms", "+32470000002", ("+3225550100",))
    assert slot is not None and slot[0] == "+3225550100" and abs(slot[1] - 2.0) < 1e-9
