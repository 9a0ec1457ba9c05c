"""Staff second factor: an authenticator app's time-based codes (TOTP, RFC 6238) and one-time
recovery codes.

Admins must have one; other staff may turn it on, and the clinic can ask it of everyone
(Clinic.second_factor_for_all_staff). The TOTP key is sealed with a key derived from
SECRET_KEY (booking.sealing); recovery codes are kept only as SHA-256 hashes of 80 random bits.
A code is accepted once: the account keeps the time step of the last code accepted, and a
code of that step or an earlier one is refused, by a conditional UPDATE so that two processes
given the same code at once cannot both accept it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
import sqlalchemy as sa
from flask import current_app

from booking.extensions import db
from booking.transaction import write_transaction
from booking.models import StaffAccount, StaffRecoveryCode, StaffSecondFactor
from booking.operations.staff import account_audit_entry, end_sessions, second_factor_required
from booking.sealing import Unsealable, seal, unseal

STEP_SECONDS = 30  # RFC 6238's default, which every authenticator app uses
DIGITS = 6
DRIFT_STEPS = 1  # a phone's clock may be up to one step (30 s) ahead or behind
RECOVERY_CODE_COUNT = 10
SEALING_PURPOSE = "staff second factor"
RESET_ACTION = "second_factor_reset"

SIX_DIGITS = re.compile(r"[0-9]{6}")
RECOVERY_CODE = re.compile(r"[a-z2-7]{16}")


@dataclass(frozen=True)
class Enrolment:
    """A key waiting to be confirmed with a code from the app it was added to."""

    secret: str  # base32, as authenticator apps take it
    uri: str  # otpauth://totp/... for the QR code

    @property
    def grouped(self) -> str:
        """The key in groups of four, for typing into an app: "ABCD EFGH ..."."""
        return " ".join(self.secret[i:i + 4] for i in range(0, len(self.secret), 4))


@dataclass(frozen=True)
class Accepted:
    """A code that let someone in: from the app, or a recovery code (then how many are left)."""

    recovery: bool = False
    recovery_codes_left: int = 0


@dataclass(frozen=True)
class Status:
    on: bool
    since: datetime | None
    recovery_codes_left: int


required = second_factor_required  # who must have one: operations.staff decides, as it checks sessions too


def _record(account_id: int) -> StaffSecondFactor | None:
    return db.session.get(StaffSecondFactor, account_id)


def is_on(account_id: int) -> bool:
    found = _record(account_id)
    return found is not None and found.is_on


def status(account_id: int) -> Status:
    found = _record(account_id)
    on = found is not None and found.is_on
    return Status(on=on, since=found.enabled_at if on else None,
                  recovery_codes_left=recovery_codes_left(account_id) if on else 0)


def recovery_codes_left(account_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(StaffRecoveryCode).where(
        StaffRecoveryCode.staff_id == account_id, StaffRecoveryCode.used_at.is_(None)))


# --- sealing the key --------------------------------------------------------------------

def _seal(account_id: int, secret: str) -> str:
    return seal(secret, secret_key=current_app.config["SECRET_KEY"], purpose=SEALING_PURPOSE, context=str(account_id))


def _unseal(record: StaffSecondFactor) -> str | None:
    try:
        return unseal(record.secret_sealed, secret_key=current_app.config["SECRET_KEY"], purpose=SEALING_PURPOSE,
                      context=str(record.staff_id))
    except Unsealable:
        current_app.logger.warning(
            "staff account %s: its second factor key cannot be opened (SECRET_KEY changed?); "
            "reset it with `flask staff reset-second-factor`", record.staff_id)
        return None


# --- enrolment --------------------------------------------------------------------------

def begin_enrolment(account: StaffAccount, now: datetime, issuer: str) -> Enrolment | None:
    """The key to add to an authenticator app: a new one, or the one shown before if it is not
    confirmed yet (so reloading the page keeps the same QR code). None if it is already on."""
    with write_transaction():
        found = _record(account.id)
        if found is not None and found.is_on:
            return None
        secret = _unseal(found) if found is not None else None
        if secret is None:
            secret = pyotp.random_base32(32)  # 160 bits, as RFC 4226 recommends
            if found is None:
                found = StaffSecondFactor(staff_id=account.id)
                db.session.add(found)
            found.secret_sealed, found.started_at, found.last_step = _seal(account.id, secret), now, None
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account.email, issuer_name=issuer)
    return Enrolment(secret=secret, uri=uri)


def confirm_enrolment(account: StaffAccount, code: str, now: datetime, keep_token: str | None) -> list[str] | None:
    """Turn the second factor on if `code` is the app's current code for the key being enrolled.

    Every other session of the account ends in the same commit (the session with `keep_token`,
    the enroller's own, stays). Returns the new recovery codes, to be shown once; None for a
    wrong code (nothing changes).
    """
    with write_transaction():
        found = _record(account.id)
        step = _matching_step(found, code, now) if found is not None and not found.is_on else None
        if step is None:
            return None
        found.enabled_at, found.last_step = now, step
        codes = _replace_recovery_codes(account.id, now)
        end_sessions(account.id, now, keep_token=keep_token)
    return codes


def _replace_recovery_codes(account_id: int, now: datetime) -> list[str]:
    db.session.execute(sa.delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == account_id))
    codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    db.session.add_all(StaffRecoveryCode(staff_id=account_id, code_hash=_hash_recovery_code(code), created_at=now)
                       for code in codes)
    return codes


def new_recovery_code() -> str:
    """80 random bits as 16 base32 letters and digits, grouped for reading: abcd-efgh-jkmn-pqrs."""
    letters = base64.b32encode(secrets.token_bytes(10)).decode().lower()
    return "-".join(letters[i:i + 4] for i in range(0, 16, 4))


def _normal_code(code: str | None) -> str:
    """What was typed, without spaces and hyphens, in lower case; 0 and 1 read as o and l
    (base32 has neither digit)."""
    text = re.sub(r"[\s-]", "", code or "").lower()
    return text if SIX_DIGITS.fullmatch(text) else text.replace("0", "o").replace("1", "l")


def _hash_recovery_code(code: str) -> str:
    return hashlib.sha256(_normal_code(code).encode()).hexdigest()


def looks_like_a_code(code: str | None) -> bool:
    """Six digits, or a recovery code's 16 letters and digits (spaces and hyphens aside)."""
    text = _normal_code(code)
    return bool(SIX_DIGITS.fullmatch(text) or RECOVERY_CODE.fullmatch(text))


# --- checking a code --------------------------------------------------------------------

def _time_step(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def _matching_step(found: StaffSecondFactor, code: str, now: datetime) -> int | None:
    """The time step whose code was typed, within the drift allowed and later than the last one
    accepted; None if the code is not one of them."""
    text = _normal_code(code)
    if not SIX_DIGITS.fullmatch(text):
        return None
    secret = _unseal(found)
    if secret is None:
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = _time_step(now)
    matched = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):  # compare every one: no early exit
        if (found.last_step is None or step > found.last_step) and hmac.compare_digest(totp.generate_otp(step), text):
            matched = step
    return matched


def check_code(account: StaffAccount, code: str, now: datetime) -> Accepted | None:
    """Accept the app's current code (once) or an unused recovery code (crossing it off), for an
    account whose second factor is on; None otherwise."""
    with write_transaction():
        found = _record(account.id)
        if found is None or not found.is_on:
            return None
        text = _normal_code(code)
        if SIX_DIGITS.fullmatch(text):
            step = _matching_step(found, text, now)
            taken = step is not None and db.session.execute(
                sa.update(StaffSecondFactor)
                .where(StaffSecondFactor.staff_id == account.id,
                       sa.or_(StaffSecondFactor.last_step.is_(None), StaffSecondFactor.last_step < step))
                .values(last_step=step)
                .execution_options(synchronize_session=False)
            ).rowcount == 1
            accepted = Accepted() if taken else None
        elif RECOVERY_CODE.fullmatch(text):
            crossed_off = db.session.execute(
                sa.update(StaffRecoveryCode)
                .where(StaffRecoveryCode.staff_id == account.id, StaffRecoveryCode.code_hash == _hash_recovery_code(text),
                       StaffRecoveryCode.used_at.is_(None))
                .values(used_at=now)
            ).rowcount == 1
            accepted = Accepted(recovery=True, recovery_codes_left=recovery_codes_left(account.id)) if crossed_off else None
        else:
            accepted = None
    return accepted


# --- reset ------------------------------------------------------------------------------

def reset(account: StaffAccount, now: datetime, *, by: StaffAccount | None, address: str = "") -> None:
    """Remove an account's second factor and recovery codes, end all its sessions, and write who
    did it to the audit log, in one commit. `by` None: the server's command line. At their next
    sign-in they set it up again (if they must have one)."""
    with write_transaction():
        db.session.execute(sa.delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == account.id))
        db.session.execute(sa.delete(StaffSecondFactor).where(StaffSecondFactor.staff_id == account.id))
        end_sessions(account.id, now)
        db.session.add(account_audit_entry(account, RESET_ACTION, now, by=by, address=address))


def accounts_with_it_on() -> set[int]:
    """The ids of the accounts whose second factor is on (for the staff list)."""
    return set(db.session.scalars(sa.select(StaffSecondFactor.staff_id).where(StaffSecondFactor.enabled_at.is_not(None))))
