"""Emails are written when they are sent, not when they are queued: an outbox message keeps
`context` (JSON: what writing it needs that the database will not still say, such as a moved
visit's old time) and has no subject or bodies until the sender writes them.

Rows already in the outbox were written when queued; they keep their words and need no context.

Downgrading: the older version reads every row as written and would send an unwritten one
empty, and it cannot write one. So every message without words (waiting, or ended unwritten)
is given an empty body and the subject "(never written)", and one still waiting or failed is
marked skipped with the reason, which the admin's outbox page shows: those patients were not
emailed. Send what waits first (`flask outbox send`) to downgrade without that.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('context', sa.JSON(), nullable=True))
        batch_op.alter_column('subject', existing_type=sa.String(length=200), nullable=True)
        batch_op.alter_column('text_body', existing_type=sa.Text(), nullable=True)
        batch_op.alter_column('html_body', existing_type=sa.Text(), nullable=True)


def downgrade():
    bind = op.get_bind()
    bind.execute(sa.text(
        "UPDATE outbox_message SET status = 'skipped', claimed_by = NULL, claimed_until = NULL, "
        "last_error = 'Never written: the database was taken back to a version that cannot write it, so it was not "
        "sent.' WHERE text_body IS NULL AND status IN ('queued', 'sending', 'failed')"))
    bind.execute(sa.text(
        "UPDATE outbox_message SET subject = '(never written)', text_body = '', html_body = '' "
        "WHERE text_body IS NULL"))
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.alter_column('html_body', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('text_body', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('subject', existing_type=sa.String(length=200), nullable=False)
        batch_op.drop_column('context')
