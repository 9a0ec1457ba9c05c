"""Sign-in limits: failed sign-ins counted per account and per network address.

A failure is a wrong password, an unknown account or a wrong second-factor code. Each counts
once against the account typed (its email, normalised; an unknown one counts the same, so the
limit says nothing about which accounts exist) and once against the address it came from.
The address allowance is larger, since a clinic's staff often share one address: one person's
typos must not lock out another account. Good sign-ins never count.

The counts live in the rate limits' storage (booking.rate_limits), so with
RATELIMIT_STORAGE_URI=redis://... every process of the service shares them;
RATELIMIT_ENABLED=False switches these limits off with the rest.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from flask import current_app
from limits import RateLimitItem, parse

from booking import rate_limits
from booking.operations.staff import normal_email

NAMESPACE = "staff-sign-in"


@dataclass(frozen=True)
class Refusal:
    """Signing in is paused for this account or address: try again after `seconds`."""

    seconds: int

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.seconds / 60))


def _counters(email: str | None, address: str | None) -> list[tuple[RateLimitItem, str, str]]:
    account_key = hashlib.sha256(normal_email(email).encode()).hexdigest()  # no email address in clear in the store
    return [
        (parse(current_app.config["STAFF_SIGN_IN_LIMIT"]), "account", account_key),
        (parse(current_app.config["STAFF_SIGN_IN_ADDRESS_LIMIT"]), "address", address or "unknown"),
    ]


def refused(email: str | None, address: str | None = None) -> Refusal | None:
    """A Refusal when either the account's or the address's failures have used up its allowance."""
    if rate_limits.strategy() is None:
        return None
    address = rate_limits.remote_address() if address is None else address
    counters = _counters(email, address)

    def waits(strategy):
        return [strategy.get_window_stats(item, NAMESPACE, kind, key).reset_time - time.time()
                for item, kind, key in counters if not strategy.test(item, NAMESPACE, kind, key)]

    waiting = rate_limits.counted(waits)
    return Refusal(seconds=max(1, math.ceil(max(waiting)))) if waiting else None


def count_failure(email: str | None, address: str | None = None) -> Refusal | None:
    """One more failed sign-in for this account and this address; a Refusal when this one went over
    an allowance. The count is the storage's own atomic increment, so of failures arriving at the
    same moment (in several processes) no more than the allowance are answered as mere failures."""
    if rate_limits.strategy() is None:
        return None
    address = rate_limits.remote_address() if address is None else address
    counters = _counters(email, address)

    def waits(strategy):
        over = [(item, kind, key) for item, kind, key in counters if not strategy.hit(item, NAMESPACE, kind, key)]
        return [strategy.get_window_stats(item, NAMESPACE, kind, key).reset_time - time.time()
                for item, kind, key in over]

    waiting = rate_limits.counted(waits)
    return Refusal(seconds=max(1, math.ceil(max(waiting)))) if waiting else None
