"""Who on the staff may change what, and the two ways a change is refused for who asks."""

from __future__ import annotations

from booking.models import StaffAccount, StaffRole


class NotAllowed(Exception):
    """The signed-in staff member may not do this (the view answers 403)."""


class NotVisible(Exception):
    """The record exists, but this staff member may not know that (the view answers 404)."""


def runs_the_desk(account: StaffAccount) -> bool:
    return account.role in (StaffRole.ADMIN, StaffRole.RECEPTIONIST)


def may_change(account: StaffAccount, practitioner_id: int) -> bool:
    """May this account book, move or cancel on that practitioner's calendar?"""
    return runs_the_desk(account) or account.practitioner_id == practitioner_id


def require(allowed: bool) -> None:
    if not allowed:
        raise NotAllowed()
