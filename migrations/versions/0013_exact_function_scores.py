"""Function scores stored before scores were exact: the PSFS mean recomputed half-up from the ratings.

The old rule rounded a binary float half-even, so a mean of x.25 (four activities rated) was
stored as x.2 where the published rule gives x.3. Each record keeps its ratings, so the score
is recomputed from them, in integers only (no application code, which may change later).
Nothing else changes; the columns stay float, and downgrading leaves the corrected values.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

intake = sa.table('intake', sa.column('id', sa.Integer), sa.column('answers', sa.JSON),
                  sa.column('psfs_score', sa.Float))
progress_check = sa.table('progress_check', sa.column('id', sa.Integer), sa.column('activities', sa.JSON),
                          sa.column('psfs_score', sa.Float))


def mean_half_up(activities) -> float | None:
    """The mean of the ratings to one decimal, half-up: floor(10 x sum / n + 1/2) tenths."""
    ratings = [int(activity['rating']) for activity in activities or []]
    if not ratings:
        return None
    return (20 * sum(ratings) + len(ratings)) // (2 * len(ratings)) / 10


def upgrade():
    connection = op.get_bind()
    rows = connection.execute(sa.select(intake.c.id, intake.c.answers, intake.c.psfs_score)
                              .where(intake.c.psfs_score.is_not(None))).all()
    for row in rows:
        score = mean_half_up((row.answers or {}).get('activities', {}).get('activities'))
        if score is not None and score != row.psfs_score:
            connection.execute(intake.update().where(intake.c.id == row.id).values(psfs_score=score))
    rows = connection.execute(sa.select(progress_check.c.id, progress_check.c.activities,
                                        progress_check.c.psfs_score)).all()
    for row in rows:
        score = mean_half_up(row.activities)
        if score is not None and score != row.psfs_score:
            connection.execute(progress_check.update().where(progress_check.c.id == row.id).values(psfs_score=score))


def downgrade():
    pass  # the corrected scores are the published ones; there is nothing to put back
