"""Relational model (SQLAlchemy 2.x). The schema is created by Alembic migrations only.

Funnel and workforce records are stored one row per candidate-stage / officer, written in bulk
by ``hrpipeline.ingest`` (no per-row ORM objects); analyses read them through GROUP BY queries
in ``hrpipeline.services``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from hrpipeline.extensions import db

# BIGINT on PostgreSQL, INTEGER on SQLite (where only INTEGER PRIMARY KEY autoincrements).
BigId = BigInteger().with_variant(Integer, "sqlite")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


user_zones = Table(
    "user_zones",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("zone_id", ForeignKey("zones.id", ondelete="CASCADE"), primary_key=True),
)


class Zone(db.Model):
    __tablename__ = "zones"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    police_zone_number: Mapped[str | None] = mapped_column(String(8))
    name_nl: Mapped[str] = mapped_column(String(120))
    name_fr: Mapped[str] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(10))  # nl / fr / bilingual

    def name(self, lang: str = "en") -> str:
        if lang == "fr" or (lang == "en" and self.language == "fr"):
            return self.name_fr
        return self.name_nl

    def __repr__(self) -> str:
        return f"<Zone {self.code}>"


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(32))
    all_zones: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(String(2))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Part of every session cookie; raising it ends the user's sessions (logout, password
    #: change) although the cookies themselves cannot be recalled (hrpipeline.sessions).
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    zones: Mapped[list[Zone]] = relationship(secondary=user_zones, lazy="selectin")

    @property
    def is_active(self) -> bool:  # flask-login
        return bool(self.active)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def zone_ids(self) -> set[int] | None:
        """The zones this user may see; ``None`` means all zones."""
        return None if self.all_zones else {z.id for z in self.zones}

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class LoginThrottle(db.Model):
    """Counted login attempts per user name or source address (hrpipeline.services.throttle)."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)  # user:<name> / src:<ip>
    failures: Mapped[int] = mapped_column(Integer, default=0)
    seq: Mapped[int] = mapped_column(Integer, default=0)  # compare-and-set version
    not_before: Mapped[dt.datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)


class ApiToken(db.Model):
    """Personal API token. Only a SHA-256 of the secret is stored (the secret is shown once)."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    user: Mapped[User] = relationship()

    @staticmethod
    def hash(secret: str) -> str:
        return hashlib.sha256(secret.encode("utf-8")).hexdigest()

    @classmethod
    def issue(cls, user: User, name: str) -> tuple[ApiToken, str]:
        secret = "hrp_" + secrets.token_urlsafe(32)
        token = cls(user_id=user.id, name=name, prefix=secret[:10], token_hash=cls.hash(secret))
        return token, secret


class Upload(db.Model):
    """One extract file. Stored whole or not at all; the same file twice per zone is refused."""

    __tablename__ = "uploads"
    __table_args__ = (UniqueConstraint("zone_id", "sha256", name="uq_uploads_zone_sha256"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))  # funnel / workforce / counts
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    #: stored / replaced / withdrawn (only "stored" uploads have rows in the record tables;
    #: the rows of a replaced or withdrawn one wait in the archive tables for a restore)
    status: Mapped[str] = mapped_column(String(16), default="stored")
    reference_date: Mapped[dt.date | None] = mapped_column(Date)
    campaign: Mapped[str | None] = mapped_column(String(64))
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("uploads.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    #: When the status last changed (withdrawn, restored, replaced): part of the data version.
    status_changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    #: Why it was withdrawn (also in the audit log).
    status_reason: Mapped[str | None] = mapped_column(String(500))
    zone: Mapped[Zone] = relationship()
    user: Mapped[User | None] = relationship()


class FunnelRecord(db.Model):
    """One candidate at one selection stage of one campaign."""

    __tablename__ = "funnel_records"
    __table_args__ = (
        # Covers the funnel GROUP BY (zone, year, campaign, stage, background, outcome).
        Index(
            "ix_funnel_agg",
            "zone_id",
            "campaign_year",
            "campaign",
            "stage",
            "migration_background",
            "outcome",
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id", ondelete="CASCADE"), index=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"))
    candidate_ref: Mapped[str] = mapped_column(String(64))
    campaign: Mapped[str] = mapped_column(String(64))
    campaign_year: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    stage_date: Mapped[dt.date | None] = mapped_column(Date)
    migration_background: Mapped[str] = mapped_column(String(24))
    gender: Mapped[str | None] = mapped_column(String(12))
    age_band: Mapped[str | None] = mapped_column(String(8))


class WorkforceRecord(db.Model):
    """One officer: hire, and exit if any, with the exit interview's category and text."""

    __tablename__ = "workforce_records"
    __table_args__ = (Index("ix_workforce_zone_group", "zone_id", "migration_background"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id", ondelete="CASCADE"), index=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"))
    officer_ref: Mapped[str] = mapped_column(String(64))
    migration_background: Mapped[str] = mapped_column(String(24))
    gender: Mapped[str | None] = mapped_column(String(12))
    rank: Mapped[str | None] = mapped_column(String(32))
    hire_date: Mapped[dt.date] = mapped_column(Date)
    exit_date: Mapped[dt.date | None] = mapped_column(Date)
    exit_type: Mapped[str | None] = mapped_column(String(16))
    exit_reason: Mapped[str | None] = mapped_column(String(32))
    exit_comment: Mapped[str | None] = mapped_column(Text)


class CountRecord(db.Model):
    """One cell of an aggregate ("counts") extract; ``count`` is NULL when hidden at source."""

    __tablename__ = "count_records"
    __table_args__ = (Index("ix_counts_zone_table", "zone_id", "table_kind", "campaign_year"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id", ondelete="CASCADE"), index=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"))
    table_kind: Mapped[str] = mapped_column(String(16))  # funnel / headcount
    campaign: Mapped[str | None] = mapped_column(String(64))
    campaign_year: Mapped[int | None] = mapped_column(Integer)
    stage: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str | None] = mapped_column(String(16))
    migration_background: Mapped[str] = mapped_column(String(24))
    rank: Mapped[str | None] = mapped_column(String(32))
    ref_date: Mapped[dt.date | None] = mapped_column(Date)
    count: Mapped[int | None] = mapped_column(Integer)
    source_suppressed: Mapped[bool] = mapped_column(Boolean, default=False)


def _archive_of(source: Table, name: str) -> Table:
    """A table with ``source``'s columns where the rows of replaced and withdrawn uploads wait
    (no analysis reads it), so that a withdrawal or a replacement can be undone."""
    columns = [Column("id", BigId, primary_key=True, autoincrement=True),
               Column("upload_id", ForeignKey("uploads.id", ondelete="CASCADE"),
                      nullable=False, index=True)]
    columns += [Column(c.name, c.type, nullable=c.nullable) for c in source.columns
                if c.name not in ("id", "upload_id")]
    return Table(name, db.metadata, *columns)


#: record table name → its archive table
ARCHIVES: dict[str, Table] = {
    model.__tablename__: _archive_of(model.__table__, f"{model.__tablename__}_archive")
    for model in (FunnelRecord, WorkforceRecord, CountRecord)
}


class Municipality(db.Model):
    """A Belgian municipality (Statbel REFNIS code) and the police zone it belongs to."""

    __tablename__ = "municipalities"
    refnis: Mapped[str] = mapped_column(String(5), primary_key=True)
    name_nl: Mapped[str] = mapped_column(String(120))
    name_fr: Mapped[str] = mapped_column(String(120))
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"), index=True)


class Benchmark(db.Model):
    """Population share of one background group for a zone (or a region, as fallback)."""

    __tablename__ = "benchmarks"
    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"), index=True)
    region: Mapped[str | None] = mapped_column(String(16))  # BE / VL / WA / BR for fallbacks
    migration_background: Mapped[str] = mapped_column(String(24))
    share: Mapped[float] = mapped_column(Float)
    count: Mapped[int | None] = mapped_column(Integer)
    population_scope: Mapped[str] = mapped_column(String(16), default="all")  # all / 18-34 ...
    reference_date: Mapped[dt.date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(Text)
    is_fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ZoneStage(db.Model):
    """A zone's own ordered selection stages; zones without rows use the default order."""

    __tablename__ = "zone_stages"
    __table_args__ = (UniqueConstraint("zone_id", "stage", name="uq_zone_stages_zone_stage"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(32))


pilot_zones = Table(
    "pilot_zones",
    db.metadata,
    Column("pilot_id", ForeignKey("pilots.id", ondelete="CASCADE"), primary_key=True),
    Column("zone_id", ForeignKey("zones.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(16), nullable=False),  # pilot / comparison
)


class Pilot(db.Model):
    __tablename__ = "pilots"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    target: Mapped[str] = mapped_column(String(32))  # a stage name, or "retention"
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AuditLog(db.Model):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    username: Mapped[str | None] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40), index=True)
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id", ondelete="SET NULL"))
    detail: Mapped[dict | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(64))


class ReleaseCache(db.Model):
    """A protected release, computed once per data version and shared by every worker.

    ``payload`` holds every cell's published value (hidden cells as null) and, for internal
    reporting only, its status; it never leaves the service as such.
    """

    __tablename__ = "release_cache"
    __table_args__ = (
        UniqueConstraint("release_key", "data_version", "policy", name="uq_release_cache_key"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    release_key: Mapped[str] = mapped_column(String(200), index=True)
    data_version: Mapped[str] = mapped_column(String(200))
    policy: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)
    elapsed_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Job(db.Model):
    """A background job (``hrpipeline.services.jobs``): the queue of the embedded worker and,
    with Redis, the status record every web process reads (progress, failure reason)."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    #: What the job prepares (e.g. a release at one data version): one live job per key.
    key: Mapped[str] = mapped_column(String(200), index=True)
    args: Mapped[str] = mapped_column(Text, default="{}")
    status: Mapped[str] = mapped_column(String(12), index=True, default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    step: Mapped[str | None] = mapped_column(String(200), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
