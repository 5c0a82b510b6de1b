"""drop suppression_memory: no table uses cell suppression any more

Every published count is now a sum of rounded chains (``hrpipeline/disclosure/funnel.py`` and
``retention.py``); the memory of cells hidden by the old suppression engine has no reader.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 01:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("suppression_memory", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suppression_memory_release_key"))
    op.drop_table("suppression_memory")


def downgrade():
    op.create_table(
        "suppression_memory",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_key", sa.String(length=200), nullable=False),
        sa.Column("cell_key", sa.String(length=400), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppression_memory")),
        sa.UniqueConstraint("release_key", "cell_key",
                            name="uq_suppression_memory_release_cell"),
    )
    with op.batch_alter_table("suppression_memory", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_suppression_memory_release_key"), ["release_key"],
                              unique=False)
