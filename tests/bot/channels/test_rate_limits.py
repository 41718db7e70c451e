"""Per-channel pacing: Telegram 30/s overall, 1/s per chat, 20/min per group; Twilio 1/s, 10/s."""

from __future__ import annotations

from bot.outbound.dispatch import ChannelLimits, RateLimiter, default_limits


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def limiter(**overrides: ChannelLimits) -> tuple[RateLimiter, FakeTime]:
    time = FakeTime()
    limits = {**default_limits(), **overrides}
    return RateLimiter(limits=limits, monotonic=time.monotonic, sleep=time.sleep), time


def test_telegram_fan_out_to_many_chats_runs_at_30_per_second() -> None:
    pacing, time = limiter()
    for chat in range(300):
        pacing.acquire("telegram", str(chat))
    # 300 messages: the first goes at once, each next 1/30 s later.
    assert abs(time.now - 299 / 30) < 1e-6


def test_telegram_one_chat_gets_at_most_one_message_per_second() -> None:
    pacing, time = limiter()
    for _ in range(5):
        pacing.acquire("telegram", "42")
    assert abs(time.now - 4.0) < 1e-6


def test_telegram_group_gets_at_most_20_per_minute() -> None:
    pacing, time = limiter()
    for _ in range(21):
        pacing.acquire("telegram", "-1001234567890")
    assert abs(time.now - 60.0) < 1e-6


def test_one_busy_chat_does_not_slow_other_chats_beyond_the_overall_pace() -> None:
    pacing, time = limiter()
    pacing.acquire("telegram", "1")
    pacing.acquire("telegram", "2")
    assert abs(time.now - 1 / 30) < 1e-6


def test_twilio_defaults_and_configuration() -> None:
    pacing, time = limiter()
    for _ in range(3):
        pacing.acquire("sms", "+32470000000")
    assert abs(time.now - 2.0) < 1e-6
    pacing, time = limiter()
    for n in range(11):
        pacing.acquire("whatsapp", f"+3247000000{n}")
    assert abs(time.now - 1.0) < 1e-6
    pacing, time = limiter(sms=ChannelLimits(per_second=4))
    for _ in range(5):
        pacing.acquire("sms", "+32470000000")
    assert abs(time.now - 1.0) < 1e-6


def test_unlimited_channels_never_wait() -> None:
    pacing, time = limiter()
    for _ in range(100):
        pacing.acquire("console", "me")
    assert time.now == 0.0


def test_a_far_slot_is_not_waited_for() -> None:
    pacing, time = limiter()
    assert pacing.acquire("telegram", "-100200", max_wait=1.5) == 0.0
    # The group's next slot is 3 s away: refuse rather than hold up other chats.
    assert pacing.acquire("telegram", "-100200", max_wait=1.5) is None
    assert abs(pacing.delay("telegram", "-100200") - 3.0) < 1e-6
    assert pacing.acquire("telegram", "55", max_wait=1.5) is not None
    assert time.now < 0.1
