"""Treatment notes: a SOAP note per visit that signing locks, its addenda, named prescriptions; and
the identifiers an insurer's receipt needs (the practitioner's NPI and licence, the clinic's tax id).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('prescription_template',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('points', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner.id'], name=op.f('fk_prescription_template_practitioner_id_practitioner'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prescription_template')),
    sa.UniqueConstraint('practitioner_id', 'name', name='one_name_each')
    )
    op.create_table('treatment_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('written_by', sa.String(length=120), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_by', sa.String(length=120), nullable=True),
    sa.CheckConstraint('(signed_at IS NULL) = (signed_by IS NULL)', name=op.f('ck_treatment_note_signed_says_by_whom')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_treatment_note_appointment_id_appointment')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_treatment_note_patient_id_patient')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_account.id'], name=op.f('fk_treatment_note_staff_id_staff_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_treatment_note')),
    sa.UniqueConstraint('appointment_id', name=op.f('uq_treatment_note_appointment_id'))
    )
    with op.batch_alter_table('treatment_note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_treatment_note_patient_id'), ['patient_id'], unique=False)

    op.create_table('note_addendum',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('note_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('signed_by', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['note_id'], ['treatment_note.id'], name=op.f('fk_note_addendum_note_id_treatment_note')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_account.id'], name=op.f('fk_note_addendum_staff_id_staff_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_note_addendum'))
    )
    with op.batch_alter_table('note_addendum', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_note_addendum_note_id'), ['note_id'], unique=False)

    # Not in batch mode: on SQLite that copies each table, and dropping the old practitioner
    # table would cascade to the rows that refer to it (as in 0022).
    op.add_column('clinic', sa.Column('tax_id', sa.String(length=20), nullable=True))
    op.add_column('practitioner', sa.Column('npi', sa.String(length=10), nullable=True))
    op.add_column('practitioner', sa.Column('license_number', sa.String(length=40), nullable=True))

    # A signed note, an addendum, a patient's consent and the consent text they read are legal records: the database itself
    # refuses to change what they say, whatever the code above it does. They may still be deleted (an erasure),
    # and the link to a staff account removed later may still become NULL.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION refuse_change_to_signed_record() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'a signed record changes only by addendum' USING ERRCODE = 'integrity_constraint_violation';
            END $$ LANGUAGE plpgsql""")
        op.execute("""
            CREATE TRIGGER signed_note_is_final BEFORE UPDATE ON treatment_note
            FOR EACH ROW WHEN (OLD.signed_at IS NOT NULL AND (ROW(NEW.content::text, NEW.signed_at, NEW.signed_by,
                NEW.written_by, NEW.appointment_id, NEW.patient_id, NEW.revision) IS DISTINCT FROM ROW(OLD.content::text,
                OLD.signed_at, OLD.signed_by, OLD.written_by, OLD.appointment_id, OLD.patient_id, OLD.revision)))
            EXECUTE FUNCTION refuse_change_to_signed_record()""")
        op.execute("""
            CREATE TRIGGER consent_text_is_final BEFORE UPDATE ON consent_version
            FOR EACH ROW WHEN (ROW(NEW.number, NEW.texts::text, NEW.created_at)
                IS DISTINCT FROM ROW(OLD.number, OLD.texts::text, OLD.created_at))
            EXECUTE FUNCTION refuse_change_to_signed_record()""")
        op.execute("""
            CREATE TRIGGER consent_is_final BEFORE UPDATE ON consent_record
            FOR EACH ROW WHEN (ROW(NEW.appointment_id, NEW.patient_id, NEW.version_id, NEW.language, NEW.given_at,
                NEW.how, NEW.signed_name, NEW.recorded_by) IS DISTINCT FROM ROW(OLD.appointment_id, OLD.patient_id,
                OLD.version_id, OLD.language, OLD.given_at, OLD.how, OLD.signed_name, OLD.recorded_by))
            EXECUTE FUNCTION refuse_change_to_signed_record()""")
        op.execute("""
            CREATE TRIGGER addendum_is_final BEFORE UPDATE ON note_addendum
            FOR EACH ROW WHEN (ROW(NEW.text, NEW.signed_at, NEW.signed_by, NEW.note_id)
                IS DISTINCT FROM ROW(OLD.text, OLD.signed_at, OLD.signed_by, OLD.note_id))
            EXECUTE FUNCTION refuse_change_to_signed_record()""")
    else:
        op.execute("""
            CREATE TRIGGER signed_note_is_final BEFORE UPDATE ON treatment_note
            WHEN OLD.signed_at IS NOT NULL AND (NEW.content IS NOT OLD.content OR NEW.signed_at IS NOT OLD.signed_at
                OR NEW.signed_by IS NOT OLD.signed_by OR NEW.written_by IS NOT OLD.written_by
                OR NEW.appointment_id IS NOT OLD.appointment_id OR NEW.patient_id IS NOT OLD.patient_id
                OR NEW.revision IS NOT OLD.revision)
            BEGIN SELECT RAISE(ABORT, 'a signed record changes only by addendum'); END""")
        op.execute("""
            CREATE TRIGGER consent_text_is_final BEFORE UPDATE ON consent_version
            WHEN NEW.number IS NOT OLD.number OR NEW.texts IS NOT OLD.texts OR NEW.created_at IS NOT OLD.created_at
            BEGIN SELECT RAISE(ABORT, 'a signed record changes only by addendum'); END""")
        op.execute("""
            CREATE TRIGGER consent_is_final BEFORE UPDATE ON consent_record
            WHEN NEW.appointment_id IS NOT OLD.appointment_id OR NEW.patient_id IS NOT OLD.patient_id
                OR NEW.version_id IS NOT OLD.version_id OR NEW.language IS NOT OLD.language
                OR NEW.given_at IS NOT OLD.given_at OR NEW.how IS NOT OLD.how
                OR NEW.signed_name IS NOT OLD.signed_name OR NEW.recorded_by IS NOT OLD.recorded_by
            BEGIN SELECT RAISE(ABORT, 'a signed record changes only by addendum'); END""")
        op.execute("""
            CREATE TRIGGER addendum_is_final BEFORE UPDATE ON note_addendum
            WHEN NEW.text IS NOT OLD.text OR NEW.signed_at IS NOT OLD.signed_at OR NEW.signed_by IS NOT OLD.signed_by
                OR NEW.note_id IS NOT OLD.note_id
            BEGIN SELECT RAISE(ABORT, 'a signed record changes only by addendum'); END""")



def downgrade():
    op.execute("DROP TRIGGER IF EXISTS addendum_is_final" + (" ON note_addendum" if op.get_bind().dialect.name == "postgresql" else ""))
    op.execute("DROP TRIGGER IF EXISTS consent_is_final" + (" ON consent_record" if op.get_bind().dialect.name == "postgresql" else ""))
    op.execute("DROP TRIGGER IF EXISTS consent_text_is_final" + (" ON consent_version" if op.get_bind().dialect.name == "postgresql" else ""))
    op.execute("DROP TRIGGER IF EXISTS signed_note_is_final" + (" ON treatment_note" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS refuse_change_to_signed_record()")
    op.drop_column('practitioner', 'license_number')  # not in batch mode: see upgrade
    op.drop_column('practitioner', 'npi')
    op.drop_column('clinic', 'tax_id')

    with op.batch_alter_table('note_addendum', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_note_addendum_note_id'))

    op.drop_table('note_addendum')
    with op.batch_alter_table('treatment_note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_treatment_note_patient_id'))

    op.drop_table('treatment_note')
    op.drop_table('prescription_template')
