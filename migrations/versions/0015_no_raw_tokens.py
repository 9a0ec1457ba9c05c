"""No raw secret at rest: the outbox's and the booking draft's raw link tokens go.

The outbox kept each waiting email's link token until it was sent, and a booked draft kept
its visit's token for the confirmation page: a copy of the database opened those visits.
Now the sender makes a link when it sends (only its hash is stored) and the confirmation
page makes its link again from the key in the patient's session cookie.

Data step, before the columns go: every stored token is cleared (on PostgreSQL a dropped
column's values stay in the rows until they are rewritten, so they are overwritten first).
Waiting emails keep their placeholder and get a fresh link when they go; their calendar
file, which used to carry the link, is rewritten to say "use the link in your booking
email". Booked drafts are removed: their confirmation page could no longer make the link
(the patient has it in the confirmation email). On SQLite, secure_delete zeroes what the
upgrade frees; on PostgreSQL old row versions stay on disk until VACUUM (see README).

Downgrading brings the columns back, removes booked drafts again (the old confirmation page
needs a stored token), and gives each waiting email that has a link a stored token and its
hash, as the old sender expects.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-10
"""
import hashlib
import re
import secrets
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa
from icalendar import Calendar, vText


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

PLACEHOLDER = 'LINK-SENT-WITH-THE-EMAIL'
UNSENT = ('queued', 'sending', 'failed')  # a failed email may be sent again

outbox_message = sa.table('outbox_message', sa.column('id', sa.Integer), sa.column('status', sa.String),
                          sa.column('appointment_id', sa.Integer), sa.column('text_body', sa.Text),
                          sa.column('calendar', sa.Text), sa.column('link_token', sa.String))
manage_link = sa.table('manage_link', sa.column('appointment_id', sa.Integer), sa.column('token_hash', sa.String),
                       sa.column('created_at', sa.DateTime(timezone=True)))
booking_draft = sa.table('booking_draft', sa.column('appointment_id', sa.Integer),
                         sa.column('manage_token', sa.String))


def calendar_without_link(text: str) -> str:
    """The .ics file with the manage link taken out of its notes (the email carries the link)."""
    calendar = Calendar.from_ical(text)
    for event in calendar.walk('VEVENT'):
        notes = str(event.get('description', ''))
        if PLACEHOLDER in notes:
            event['description'] = vText(re.sub(r'To change or cancel: \S+ or phone',
                                                'To change or cancel, use the link in your booking email or phone',
                                                notes))
    return calendar.to_ical().decode()


def upgrade():
    connection = op.get_bind()
    if connection.dialect.name == 'sqlite':
        op.execute('PRAGMA secure_delete = ON')  # freed space is overwritten, not left as it was
    op.execute(outbox_message.update().where(outbox_message.c.link_token.is_not(None)).values(link_token=None))
    waiting = connection.execute(sa.select(outbox_message.c.id, outbox_message.c.calendar).where(
        outbox_message.c.status.in_(UNSENT), outbox_message.c.calendar.is_not(None))).all()
    for message_id, text in waiting:
        unfolded = re.sub(r'\r?\n[ \t]', '', text)
        if PLACEHOLDER in unfolded:
            connection.execute(outbox_message.update().where(outbox_message.c.id == message_id)
                               .values(calendar=calendar_without_link(text)))
    op.execute(booking_draft.update().where(booking_draft.c.manage_token.is_not(None)).values(manage_token=None))
    op.execute(booking_draft.delete().where(booking_draft.c.appointment_id.is_not(None)))
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('link_token')
    with op.batch_alter_table('booking_draft', schema=None) as batch_op:
        batch_op.drop_column('manage_token')


def downgrade():
    with op.batch_alter_table('booking_draft', schema=None) as batch_op:
        batch_op.add_column(sa.Column('manage_token', sa.String(length=64), nullable=True))
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link_token', sa.String(length=64), nullable=True))
    op.execute(booking_draft.delete().where(booking_draft.c.appointment_id.is_not(None)))
    connection = op.get_bind()
    waiting = connection.execute(sa.select(outbox_message.c.id, outbox_message.c.appointment_id).where(
        outbox_message.c.status.in_(UNSENT), outbox_message.c.appointment_id.is_not(None),
        outbox_message.c.text_body.contains(PLACEHOLDER))).all()
    now = datetime.now(timezone.utc)
    for message_id, appointment_id in waiting:
        token = secrets.token_urlsafe(32)
        connection.execute(manage_link.insert().values(
            appointment_id=appointment_id, token_hash=hashlib.sha256(token.encode()).hexdigest(),
            created_at=now if connection.dialect.name != 'sqlite' else now.replace(tzinfo=None)))
        connection.execute(outbox_message.update().where(outbox_message.c.id == message_id).values(link_token=token))
