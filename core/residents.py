"""Who counts as a resident: alert and survey audiences, response rates and results are theirs.

Facilitators and technicians are enrolled contacts too, but they are staff: they count as
residents only when they also linked a household of their own.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_
from sqlmodel import col

from core.models import Contact, Role


def counts_as_resident() -> ColumnElement[bool]:
    """The SQL condition on ``Contact``: a resident, or staff with a household."""
    return or_(col(Contact.role) == Role.RESIDENT.value, col(Contact.household_id).is_not(None))


def is_resident(contact: Contact) -> bool:
    return contact.role == Role.RESIDENT.value or contact.household_id is not None
