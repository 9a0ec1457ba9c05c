"""Request limits per network address: the API's, the calendar feeds', and the sign-in counts.

Counted by the `limits` library (fixed windows) in the storage RATELIMIT_STORAGE_URI names: this
process's memory (memory://), or Redis (redis://host:6379), shared by every process and host.
A limited route has exactly one limit, named by a setting, so checking it is one atomic count in
the storage. (Flask-Limiter, used before, worked out on every request which of its many kinds of
limit applied, through three hooks; that was a fifth of a slots request answered from kept free
times.) RATELIMIT_ENABLED=False switches every limit off.

When the storage cannot be reached (Redis down), the counts go on in this process's memory and
the storage is tried again a little later: a clinic's booking page stays up, and its limits
still hold per process.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from functools import lru_cache, wraps

from flask import Flask, current_app, make_response, request
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter, RateLimiter
from werkzeug.exceptions import TooManyRequests

log = logging.getLogger(__name__)
RETRY_STORAGE_AFTER_SECONDS = 30


class TidiedMemoryStorage(MemoryStorage):
    """The rate limits' in-process counters (RATELIMIT_STORAGE_URI=memory://), with expired entries
    cleared by the requests that count, at most once a second, instead of by a Timer thread.

    The library starts a new Timer thread 10 ms after its last one ended, from inside a request,
    and starting a thread waits until the new thread has run: on a busy machine, a time slice of
    the scheduler's, for one request in a few. Counters never depended on it: each is checked
    against its expiry as it is read. Registered for the memory:// scheme, so the setting stays.
    """

    STORAGE_SCHEME = ["memory"]
    TIDY_EVERY_SECONDS = 1.0
    tidied_at = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the library's timer start
        moment = time.monotonic()
        if moment - self.tidied_at >= self.TIDY_EVERY_SECONDS:
            self.tidied_at = moment
            self._MemoryStorage__expire_events()


@dataclass
class _Counters:
    """An app's counting strategy, and the memory one used while its storage is unreachable."""

    configured: RateLimiter
    fallback: RateLimiter | None = None
    fallback_until = 0.0  # the moment to try the configured storage again


def init_app(app: Flask) -> None:
    if app.config.get("RATELIMIT_ENABLED", True):
        storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
        app.extensions["rate_limits"] = _Counters(FixedWindowRateLimiter(storage))
        if app.config["RATELIMIT_STORAGE_URI"].startswith("memory://") and not (app.debug or app.testing):
            app.logger.warning(
                "Rate limits are counted in this process's memory (RATELIMIT_STORAGE_URI=memory://). With more than "
                "one process or host, set RATELIMIT_STORAGE_URI=redis://HOST:6379 so the limits hold across them.")
    else:
        app.extensions["rate_limits"] = None


def remote_address() -> str:
    """The address a request is counted against (the client's, through TRUSTED_PROXIES' ProxyFix)."""
    return request.remote_addr or "127.0.0.1"


def strategy() -> RateLimiter | None:
    """The counting strategy in use; None when limits are switched off."""
    counters = current_app.extensions.get("rate_limits")
    if counters is None:
        return None
    if counters.fallback is not None and time.monotonic() < counters.fallback_until:
        return counters.fallback
    return counters.configured


def counted(action):
    """`action(strategy)`'s answer; counted in this process's memory when the storage fails."""
    chosen = strategy()
    try:
        return action(chosen)
    except Exception as error:  # the storage's own errors: a Redis client's, a socket's
        counters = current_app.extensions["rate_limits"]
        if chosen is counters.fallback:
            raise
        log.warning("Rate limit storage unreachable (%s): counting in this process's memory for %d s",
                    type(error).__name__, RETRY_STORAGE_AFTER_SECONDS)
        if counters.fallback is None:
            counters.fallback = FixedWindowRateLimiter(storage_from_string("memory://"))
        counters.fallback_until = time.monotonic() + RETRY_STORAGE_AFTER_SECONDS
        return action(counters.fallback)


@lru_cache(maxsize=32)
def _item(limit: str) -> RateLimitItem:
    return parse(limit)


def limited(setting: str):
    """Count the route's requests per address against the limit in the app setting `setting`
    (e.g. "300 per minute"); over it, answer 429 with Retry-After. Every answer carries
    X-RateLimit-Limit, -Remaining and -Reset."""

    def decorate(view):
        @wraps(view)
        def limited_view(*args, **kwargs):
            if strategy() is None:
                return view(*args, **kwargs)
            item = _item(current_app.config[setting])
            keys = (request.endpoint, remote_address())
            allowed, window = counted(lambda chosen: (chosen.hit(item, *keys), chosen.get_window_stats(item, *keys)))
            if allowed:
                response = make_response(view(*args, **kwargs))
            else:
                refusal = TooManyRequests(f"Too many requests from this address: at most {item}. Try again later.")
                response = make_response(current_app.handle_user_exception(refusal))
                response.headers["Retry-After"] = str(max(1, math.ceil(window.reset_time - time.time())))
            response.headers["X-RateLimit-Limit"] = str(item.amount)
            response.headers["X-RateLimit-Remaining"] = str(window.remaining)
            response.headers["X-RateLimit-Reset"] = str(math.ceil(window.reset_time))
            return response

        return limited_view

    return decorate
