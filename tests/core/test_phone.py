from __future__ import annotations

import pytest

from core.identities import canonical_address
from core.phone import InvalidPhoneNumber, normalise_phone


@pytest.mark.parametrize("raw", ["0470 12 34 56", "+32 470 12 34 56", "whatsapp:+32470123456",
                                 "0032470123456"])
def test_belgian_numbers_become_e164(raw: str) -> None:
    assert normalise_phone(raw) == "+32470123456"


def test_foreign_numbers_keep_their_country() -> None:
    assert normalise_phone("+212 612-345678") == "+212612345678"


def test_nonsense_is_refused() -> None:
    with pytest.raises(InvalidPhoneNumber):
        normalise_phone("hello")


def test_only_phone_channels_are_normalised() -> None:
    assert canonical_address("telegram", " 12345 ") == "12345"
    assert canonical_address("whatsapp", "whatsapp:+32470123456") == "+32470123456"
