"""Staff accounts and sign-in sessions: Argon2id passwords, server-side sessions, idle and absolute timeouts.

The second factor (authenticator app, recovery codes) is in operations.second_factor."""

from __future__ import annotations

import secrets
from functools import lru_cache
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from booking import driver
from booking.extensions import db
from booking.transaction import gave_way, locked, write_transaction, writing
from booking.models import AuditEntry, Clinic, Practitioner, StaffAccount, StaffRole, StaffSecondFactor, StaffSession
from booking.tokens import hash_token, new_token
from booking.operations.problems import CannotBook, InvalidInput
from booking.validation import NAME_LIMIT, clean_email, clean_name, hidden_character

MIN_PASSWORD_LENGTH = 12
# Audit actions (clinical.AUDIT_ACTIONS): an admin or the server's command line gave an account a
# password; someone chose their own.
PASSWORD_SET_ACTION = "password_set"
PASSWORD_CHANGE_ACTION = "password_change"
CURRENT_PASSWORD_WRONG = "Your current password is not right: type the one you signed in with"


@lru_cache(maxsize=None)
def _hashing(profile: str) -> tuple[PasswordHasher, str]:
    """Argon2id with one of argon2-cffi's parameter profiles, and a hash to verify against when
    the email is unknown (so both failures take as long). Made once per profile: the second is
    a hash, as slow as any."""
    hasher = PasswordHasher.from_parameters(getattr(profiles, profile))
    return hasher, hasher.hash(secrets.token_urlsafe(16))


def _hasher() -> tuple[PasswordHasher, str]:
    """The app's password hasher (PASSWORD_HASH_PROFILE: RFC 9106's low-memory parameters unless
    the app is told otherwise), with its hash for unknown accounts."""
    return _hashing(current_app.config["PASSWORD_HASH_PROFILE"])


class SignedIn:
    """The staff member behind a live session, in the shape Flask-Login expects.

    Who it is (the account's id, role, practitioner and name) comes from the row the session's
    look-up read, which is all most pages ask (which pages a role may open, a kept calendar's key).
    The account as an entity of the request's session is made from that row the first time a page
    asks for it (`account`): loading it through the ORM on every request was a quarter of a kept
    calendar page, and making it from the row sends no second statement."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, token: str, row: dict | None = None, account: StaffAccount | None = None) -> None:
        self.token = token  # the session's token: Flask-Login keeps it as the user id in the signed cookie
        self._row = row  # the account's columns by attribute name, as read
        self._account = account

    def get_id(self) -> str:
        return self.token

    @property
    def account(self) -> StaffAccount:
        if self._account is None:
            self._account = _account_in_session(self._row)
        return self._account

    def _value(self, name: str):
        """An attribute of the account: the entity's once there is one (a change made to it in this
        request shows), else the row's."""
        return getattr(self._account, name) if self._account is not None else self._row[name]

    @property
    def account_id(self) -> int:
        return self._value("id")

    @property
    def role(self) -> StaffRole:
        return self._value("role")

    @property
    def practitioner_id(self) -> int | None:
        return self._value("practitioner_id")

    @property
    def name(self) -> str:
        return self._value("name")

    @property
    def must_change_password(self) -> bool:
        return self._value("must_change_password")


# Every column of an account, by attribute name: the entity made from them is the one a load gives.
_ACCOUNT_ATTRIBUTES = tuple((attribute.key, attribute.columns[0]) for attribute in sa.inspect(StaffAccount).column_attrs)


def _account_in_session(row: dict) -> StaffAccount:
    """The account's entity in the request's session, from its row as read: the one the session
    holds already if it loaded it, else one made from the row and added as if loaded (persistent,
    no changes to flush), so that relationships, audit rows and writes treat it as any other."""
    session = db.session()
    held = session.identity_map.get(identity_key(StaffAccount, row["id"]))
    if held is not None:
        return held
    if writing():
        # The row was read before this change took its lock: made from it, the account would carry
        # what another process has changed since into the change. Read it under the lock instead.
        # (One made before the change began is read again too: the change's start expires it.)
        loaded = session.get(StaffAccount, row["id"])
        if loaded is not None:
            return loaded
    account = StaffAccount(**row)
    make_transient_to_detached(account)
    session.add(account)
    return account


def password_problem(password: str | None) -> str | None:
    if not password:  # never written back into a page, so after any refusal it is typed again
        return f"Enter a password ({MIN_PASSWORD_LENGTH} characters or more)"
    if not password.strip():  # twelve spaces were taken, and signed in with (a hands-on trial)
        return "Enter a password with letters, numbers or symbols in it, not spaces alone"
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Password must be at least {MIN_PASSWORD_LENGTH} characters"
    return None


def account_problems(email: str | None, name: str | None, password: str | None, role: StaffRole | None = None,
                     practitioner_slug: str | None = None) -> dict[str, str]:
    """What is wrong with a new account's details, every field at once, in words for the admin
    typing someone else's (the patients' own checks said "your", one field at a time)."""
    problems = {}
    slug = (practitioner_slug or "").strip()
    if role is StaffRole.PRACTITIONER:
        practitioner = db.session.scalar(sa.select(Practitioner).where(Practitioner.slug == slug))
        if practitioner is None:
            problems["practitioner"] = "Choose the practitioner this account belongs to"
        elif (holder := practitioners_account(practitioner.id)) is not None:
            problems["practitioner"] = practitioner_taken(practitioner, holder)
    elif role is not None and slug:
        problems["practitioner"] = NOT_A_PRACTITIONER
    if not (name or "").strip():
        problems["name"] = "Enter their full name"
    else:
        try:
            clean_name(name)
        except ValueError:
            problems["name"] = (
                f"Full name must be {NAME_LIMIT} characters or fewer" if len(name.strip()) > NAME_LIMIT
                else "Full name must not include hidden characters, such as a right-to-left mark or a zero-width "
                     "space: type the name rather than pasting it" if hidden_character(name) is not None
                else "Enter the full name on one line, without tabs or other control characters")
    if not (email or "").strip():
        problems["email"] = "Enter their email address"
    else:
        try:
            clean_email(email)
        except ValueError as error:  # the format or the length: no "your" in those
            problems["email"] = str(error)
    if (problem := password_problem(password)) is not None:
        problems["password"] = problem
    return problems


class WrongPassword(InvalidInput):
    """The current password typed is not the account's: a guess, which counts towards the sign-in
    limits (booking.auth.throttle) as a wrong password at sign-in does."""


def _verifies(password_hash: str, password: str | None) -> bool:
    """Whether the password is the one hashed (slow on purpose, with the app's Argon2id)."""
    try:
        return _hasher()[0].verify(password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


def _new_password_problems(new: str | None, again: str | None) -> dict[str, str]:
    """What is wrong with a new password typed twice (new_password, new_password_again)."""
    problems = {}
    if (problem := password_problem(new)) is not None:
        problems["new_password"] = problem
    if not again:
        problems["new_password_again"] = "Enter the new password again"
    elif again != new:
        problems["new_password_again"] = "The new password and the one typed again are not the same: type both again"
    return problems


def change_own_password(account: StaffAccount, current: str | None, new: str | None, again: str | None,
                        now: datetime, *, keep_token: str, address: str = "") -> None:
    """The signed-in person's own new password, in place of `current`: their other sessions end
    (the one with `keep_token`, theirs now, stays), an admin's ask to change it is met, and the
    audit log says so. Raises InvalidInput naming every field to fix, WrongPassword when `current`
    is not their password; then nothing changes."""
    held = account.password_hash
    right = bool(current) and _verifies(held, current)
    problems = {} if right else {"current_password": CURRENT_PASSWORD_WRONG if current else "Enter your current password"}
    problems |= _new_password_problems(new, again)
    if right and "new_password" not in problems and new == current:
        problems["new_password"] = "Choose a new password, not the one you have now"
    if problems:
        raise (WrongPassword if current and not right else InvalidInput)(problems)
    _store_password(account, _hasher()[0].hash(new), now, must_change=False, keep_token=keep_token, by=account,
                    action=PASSWORD_CHANGE_ACTION, address=address, replacing=held)


def set_password(account: StaffAccount, password: str | None, now: datetime, *, by: StaffAccount | None,
                 must_change: bool | None, address: str = "") -> None:
    """Give an account a new password (a forgotten one) and end all its sessions, so whoever held
    the old one is signed out; the audit log says who did it (`by` None: the server's command
    line). `must_change` True: the person chooses their own before any other staff page, since
    whoever set this one knows it (None leaves the account's ask as it is). Raises InvalidInput
    ({"password": ...}) for a password the rules refuse."""
    if (problem := password_problem(password)) is not None:
        raise InvalidInput({"password": problem})
    _store_password(account, _hasher()[0].hash(password), now, must_change=must_change, keep_token=None, by=by,
                    action=PASSWORD_SET_ACTION, address=address)


def _store_password(account: StaffAccount, password_hash: str, now: datetime, *, must_change: bool | None,
                    keep_token: str | None, by: StaffAccount | None, action: str, address: str,
                    replacing: str | None = None) -> None:
    """Write a new password's hash (made before, as it is slow: not while holding the lock), end
    the account's sessions but `keep_token`'s, and audit it, in one commit. With `replacing`, only
    if the account's hash is still that one (the password checked was not changed meanwhile)."""
    with write_transaction():
        row = locked(StaffAccount, account.id)
        if replacing is not None and row.password_hash != replacing:
            raise WrongPassword({"current_password": CURRENT_PASSWORD_WRONG})
        row.password_hash = password_hash
        if must_change is not None:
            row.must_change_password = must_change
        end_sessions(account.id, now, keep_token=keep_token)
        db.session.add(account_audit_entry(account, action, now, by=by, address=address))


def account_audit_entry(account: StaffAccount, action: str, now: datetime, *, by: StaffAccount | None,
                        address: str = "") -> AuditEntry:
    """The audit log's line for something done to a staff account: who did it (`by` None: the
    server's command line), to whom, when and from where. Never a password, a code or a key."""
    return AuditEntry(at=now, staff_id=by.id if by else None, staff_name=by.name if by else "Server command line",
                      staff_role=by.role.value if by else "command", action=action, subject_staff_id=account.id,
                      subject_name=account.name, address=(address or "")[:64])


def find_account(email: str | None) -> StaffAccount | None:
    """The account with this email address (as typed: any case, spaces around), if there is one."""
    return db.session.scalar(sa.select(StaffAccount).where(StaffAccount.email == normal_email(email)))


ACCOUNT_EXISTS = "There is already a staff account with this email address"
NOT_A_PRACTITIONER = "Choose None for a receptionist or admin: only a practitioner's account belongs to a practitioner"


def practitioners_account(practitioner_id: int, other_than: int | None = None) -> StaffAccount | None:
    """The practitioner's active account (besides `other_than`), if they have one. A practitioner has
    one at most: a note shows who signed it, and two accounts would sign as one person."""
    return db.session.scalar(
        sa.select(StaffAccount).where(StaffAccount.practitioner_id == practitioner_id, StaffAccount.is_active,
                                      StaffAccount.id != (other_than or 0)).limit(1))


def practitioner_taken(practitioner: Practitioner, holder: StaffAccount) -> str:
    return (f"{practitioner.name} already has an active account ({holder.email}): a practitioner has one, so that "
            "their notes show who wrote them. Deactivate that account first, or choose another practitioner")


def add_staff(email: str, name: str, role: StaffRole, password: str, now: datetime,
              practitioner_slug: str | None = None, *, must_change_password: bool = False) -> StaffAccount:
    """A new staff account (raises InvalidInput for bad details, every one at once, and CannotBook
    naming the field for an address already taken or a practitioner not found). `must_change_password`:
    the person chooses their own at their first sign-in (an admin typed this one)."""
    problems = account_problems(email, name, password)
    if problems:
        raise InvalidInput(problems)
    email, name = clean_email(email), clean_name(name)
    password_hash = _hasher()[0].hash(password)  # slow on purpose: before the lock, not while holding it
    try:
        return _add_account(email, name, role, password_hash, now, practitioner_slug, must_change_password)
    except IntegrityError:  # the same address added twice at once (a double click): the second is told
        raise CannotBook("email", ACCOUNT_EXISTS) from None


def _add_account(email: str, name: str, role: StaffRole, password_hash: str, now: datetime,
                 practitioner_slug: str | None, must_change_password: bool) -> StaffAccount:
    with write_transaction():
        if db.session.scalar(sa.select(StaffAccount.id).where(StaffAccount.email == email)):
            raise CannotBook("email", ACCOUNT_EXISTS)
        practitioner = None
        if role is StaffRole.PRACTITIONER:
            # The practitioner's row locked (PostgreSQL), so two accounts added for them at once are one after the other.
            practitioner = db.session.scalar(sa.select(Practitioner).where(
                Practitioner.slug == (practitioner_slug or "")).with_for_update())
            if practitioner is None:
                raise CannotBook("practitioner", "Choose the practitioner this account belongs to")
            if (holder := practitioners_account(practitioner.id)) is not None:
                raise CannotBook("practitioner", practitioner_taken(practitioner, holder))
        account = StaffAccount(email=email, name=name, role=role, practitioner=practitioner,
                               password_hash=password_hash, is_active=True, must_change_password=must_change_password,
                               created_at=now)
        db.session.add(account)
    return account


def second_factor_required(account: StaffAccount, clinic: Clinic | None) -> bool:
    """Must this account sign in with a second factor? Admins always; others when the clinic says so."""
    return _second_factor_asked(account.role, clinic and clinic.second_factor_for_all_staff)


def _second_factor_asked(role: StaffRole, asked_of_all_staff: bool | None) -> bool:
    return role is StaffRole.ADMIN or bool(asked_of_all_staff)


# Every staff page asks this first, so it is built once, and it brings the clinic's one setting it
# needs with it rather than the clinic's row after it. Columns, not entities: read as plain values
# (driver.run), it costs a fraction of an ORM load.
_LIVE_SESSION = (
    sa.select(StaffSession.id, StaffSession.last_seen_at, StaffSession.created_at,
              StaffSecondFactor.enabled_at, Clinic.second_factor_for_all_staff,
              *(column for _key, column in _ACCOUNT_ATTRIBUTES))
    .join(StaffAccount, StaffSession.staff_id == StaffAccount.id)
    .outerjoin(StaffSecondFactor, StaffSecondFactor.staff_id == StaffAccount.id)
    .outerjoin(Clinic, Clinic.id == 1)
    .where(StaffSession.token_hash == sa.bindparam("token_hash"), StaffSession.ended_at.is_(None),
           StaffAccount.is_active)
)


def normal_email(email: str | None) -> str:
    """An email address as accounts are stored and sign-in limits are counted: trimmed, lower case."""
    return (email or "").strip().lower()


def check_sign_in(email: str, password: str) -> StaffAccount | None:
    """The active account with this email and password, else None (nothing is signed in yet).

    Wrong password, unknown email and a disabled account all look the same to the caller.
    """
    account = find_account(email)
    hasher, unknown_account_hash = _hasher()
    if not _verifies(account.password_hash if account else unknown_account_hash, password):
        return None
    if account is None or not account.is_active:
        return None
    if hasher.check_needs_rehash(account.password_hash):
        password_hash = hasher.hash(password)  # parameters changed since it was set
        with write_transaction():
            account.password_hash = password_hash
    return account


def start_session(account: StaffAccount, now: datetime) -> SignedIn:
    """A new server-side session for an account that has passed every step of signing in."""
    token = new_token()
    with write_transaction():
        db.session.add(StaffSession(token_hash=hash_token(token), staff_id=account.id, created_at=now,
                                    last_seen_at=now))
    return SignedIn(token, account=account)


def signed_in(token: str, now: datetime, idle: timedelta, lifetime: timedelta | None = None) -> SignedIn | None:
    """The staff member for a session token, if the session is live, has not sat idle too long,
    and (with `lifetime`) began no longer ago than that, however busy it has been."""
    # Read on a connection of its own when the request has begun no transaction (as it has not,
    # before each request): at least as old as anything the page reads after it.
    found = driver.run(_LIVE_SESSION, {"token_hash": hash_token(token)})
    if not found:
        return None
    session_id, last_seen_at, created_at, second_factor_since, asked_of_all, *account = found[0]
    row = dict(zip((key for key, _column in _ACCOUNT_ATTRIBUTES), account))
    if (now - last_seen_at > idle or (lifetime is not None and now - created_at > lifetime)
            # Signed in with the password alone before a second factor was asked of this account (an
            # upgrade, or the clinic asking everyone): sign in again, and set one up.
            or (second_factor_since is None and _second_factor_asked(row["role"], asked_of_all))):
        _touch(session_id, ended_at=now)
        return None
    if now - last_seen_at > timedelta(minutes=1):
        _touch(session_id, last_seen_at=now)
    return SignedIn(token, row)


def session_owner(token: str) -> tuple[int, str, datetime, datetime] | None:
    """The id and name of the active account a session token was given to, and when the session
    began and was last used, live or ended (None for a token never given, or a deactivated
    account): whose typing a form sent after its session ended holds, and how it ended
    (booking.auth.carried)."""
    found = driver.run(_SESSION_OWNER, {"token_hash": hash_token(token)})
    return found[0] if found else None


_SESSION_OWNER = (sa.select(StaffAccount.id, StaffAccount.name, StaffSession.created_at, StaffSession.last_seen_at)
                  .join(StaffSession, StaffSession.staff_id == StaffAccount.id)
                  .where(StaffSession.token_hash == sa.bindparam("token_hash"), StaffAccount.is_active))


def end_sessions(account_id: int, now: datetime, keep_token: str | None = None) -> int:
    """End every live session of an account, except the one with `keep_token` (the caller's own).
    Does not commit: it belongs to the change that asks for it. Returns how many ended."""
    query = sa.update(StaffSession).where(StaffSession.staff_id == account_id, StaffSession.ended_at.is_(None))
    if keep_token is not None:
        query = query.where(StaffSession.token_hash != hash_token(keep_token))
    return db.session.execute(query.values(ended_at=now)).rowcount


def _touch(session_id: int, **values) -> None:
    """Record session activity on its own short connection, apart from the request's transaction.
    Best-effort: when the database stays busy past the lock timeout the page still opens, and
    the next page stamps it (an expired session is refused either way: the check reads the times)."""
    try:
        with db.engine.begin() as connection:
            connection.execute(sa.update(StaffSession).where(StaffSession.id == session_id).values(**values))
    except DBAPIError as error:
        if not gave_way(error):
            raise


def sign_out(token: str, now: datetime) -> None:
    with write_transaction():
        db.session.execute(
            sa.update(StaffSession)
            .where(StaffSession.token_hash == hash_token(token), StaffSession.ended_at.is_(None))
            .values(ended_at=now)
        )


def deactivate(account_id: int, now: datetime) -> None:
    """Disable an account and end every session it has."""
    with write_transaction():
        db.session.execute(sa.update(StaffAccount).where(StaffAccount.id == account_id).values(is_active=False))
        end_sessions(account_id, now)


def reactivate(account_id: int) -> None:
    """Let a deactivated account sign in again (its old sessions stay ended); raises CannotBook when
    its practitioner has another active account meanwhile."""
    with write_transaction():
        practitioner = db.session.scalar(
            sa.select(Practitioner).join(StaffAccount, StaffAccount.practitioner_id == Practitioner.id)
            .where(StaffAccount.id == account_id).with_for_update(of=Practitioner))
        if practitioner is not None and (holder := practitioners_account(practitioner.id, account_id)) is not None:
            raise CannotBook("practitioner", practitioner_taken(practitioner, holder))
        db.session.execute(sa.update(StaffAccount).where(StaffAccount.id == account_id).values(is_active=True))
