"""Marshmallow schemas of the API: query arguments, request bodies and documented responses.

Category values (extract kinds, groups, views, tests) come from ``hrpipeline.domain`` and the
services, never re-typed here.
"""

from __future__ import annotations

import datetime as dt

import marshmallow as ma
from marshmallow import fields, validate

from hrpipeline.domain import EXTRACT_KINDS, KNOWN_BACKGROUNDS, UI_LANGUAGES
from hrpipeline.services.funnel import TESTS, VIEWS

MAX_PER_PAGE = 200


class UtcDateTime(fields.DateTime):
    """Timestamps are stored naive in UTC (``models.utcnow``); published as RFC 3339 with the
    ``+00:00`` offset, since a date-time without offset is not valid RFC 3339."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return super()._serialize(value, attr, obj, **kwargs)


class _Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class _Query(ma.Schema):
    # Query strings may carry extra parameters (cache busters, tracking); ignore them.
    class Meta:
        unknown = ma.EXCLUDE


# --- errors (RFC 7807) --------------------------------------------------------------------
class ProblemSchema(ma.Schema):
    """``application/problem+json`` body (RFC 7807), as built by ``hrpipeline.errors``."""

    class Meta:
        unknown = ma.INCLUDE

    type = fields.String(required=True, metadata={"example": "about:blank#not_found"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    problems = fields.List(fields.Dict(), metadata={
        "description": "For 422: every problem found (row, column, value, code, message)."})
    problem_count = fields.Integer()
    errors = fields.Dict(metadata={"description": "For 422 on parameters: field → messages."})


# --- pagination ---------------------------------------------------------------------------
class PageArgs(_Query):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class PageSchema(ma.Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)
    pages = fields.Integer(required=True)


# --- health, zones, catalogue ---------------------------------------------------------------
class HealthSchema(ma.Schema):
    status = fields.String(required=True, validate=validate.OneOf(["ok", "degraded"]))
    version = fields.String(required=True)
    database = fields.String(required=True, validate=validate.OneOf(["ok", "unavailable"]))


class ZoneSchema(ma.Schema):
    code = fields.String(required=True)
    police_zone_number = fields.String(allow_none=True)
    name_nl = fields.String(required=True)
    name_fr = fields.String(required=True)
    language = fields.String(required=True)


class ZoneListSchema(ma.Schema):
    items = fields.List(fields.Nested(ZoneSchema), required=True)


class CatalogueEntrySchema(ma.Schema):
    key = fields.String(required=True, metadata={"example": "ANT/year:2024"})
    zone = fields.String(required=True, metadata={"description": "Zone code, or ALL (pool)."})
    period = fields.String(required=True, metadata={"example": "campaign:2024-1"})
    year = fields.Integer(required=True)


class CatalogueSchema(ma.Schema):
    items = fields.List(fields.Nested(CatalogueEntrySchema), required=True)


# --- uploads ------------------------------------------------------------------------------
class UploadFormSchema(_Strict):
    """``multipart/form-data`` body of ``POST /uploads``."""

    zone = fields.String(required=True, validate=validate.Length(min=1, max=16))
    kind = fields.String(required=True, validate=validate.OneOf(EXTRACT_KINDS))
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})
    replace = fields.Boolean(load_default=False)
    sheet = fields.String(load_default=None, allow_none=True,
                          validate=validate.Length(max=100))
    reference_date = fields.Date(load_default=None, allow_none=True)


class UploadSchema(ma.Schema):
    id = fields.Integer(required=True)
    zone = fields.String(required=True)
    kind = fields.String(required=True)
    filename = fields.String(required=True)
    sha256 = fields.String(required=True)
    row_count = fields.Integer(required=True)
    status = fields.String(required=True)
    campaign = fields.String(allow_none=True)
    reference_date = fields.Date(allow_none=True)
    replaces_id = fields.Integer(allow_none=True)
    uploaded_by = fields.String(allow_none=True)
    created_at = UtcDateTime(required=True)


class UploadRemovedSchema(ma.Schema):
    id = fields.Integer(required=True)
    filename = fields.String(required=True)
    row_count = fields.Integer(required=True)
    created_at = fields.String(required=True)
    uploaded_by = fields.String(allow_none=True)


class UploadPreviewSchema(ma.Schema):
    """What storing the file would do; nothing has been stored."""

    zone = fields.String(required=True)
    kind = fields.String(required=True)
    layout = fields.String(required=True)
    filename = fields.String(required=True)
    rows = fields.Integer(required=True)
    campaigns = fields.List(fields.String(), required=True)
    years = fields.List(fields.Integer(), required=True)
    groups = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    dates = fields.List(fields.String(), required=True)
    exits = fields.Integer(allow_none=True)
    replace_required = fields.Boolean(required=True)
    removes = fields.List(fields.Nested(UploadRemovedSchema), required=True)


class WithdrawSchema(_Strict):
    """JSON body of ``POST /uploads/{id}/withdraw``."""

    reason = fields.String(required=True, validate=validate.Length(min=5, max=500))
    restore_replaced = fields.Boolean(load_default=True)


class UploadQuerySchema(PageArgs):
    zone = fields.String(validate=validate.Length(min=1, max=16))


class UploadPageSchema(PageSchema):
    items = fields.List(fields.Nested(UploadSchema), required=True)


# --- funnel -------------------------------------------------------------------------------
class FunnelQuerySchema(_Query):
    zone = fields.String(required=True, validate=validate.Length(min=1, max=16),
                         metadata={"description": "Zone code, or ALL for the all-zone pool.",
                                   "example": "ANT"})
    period = fields.String(required=True, validate=validate.Length(min=1, max=80),
                           metadata={"description": "A catalogue period: campaign:CODE or "
                                                    "year:YYYY (see GET /catalogue).",
                                     "example": "year:2024"})
    reference = fields.String(load_default=KNOWN_BACKGROUNDS[0],
                              validate=validate.OneOf(KNOWN_BACKGROUNDS))
    view = fields.String(load_default=VIEWS[0], validate=validate.OneOf(VIEWS))
    test = fields.String(load_default=TESTS[0], validate=validate.OneOf(TESTS))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class FunnelReportSchema(ma.Schema):
    """``FunnelReport.to_dict()``: the same published numbers as the dashboard.

    Every published number is ``{"value": v, "suppressed": false}``; a hidden one is
    ``{"value": null, "suppressed": true}``.
    """

    class Meta:
        unknown = ma.INCLUDE

    key = fields.String(required=True)
    zone = fields.String(required=True)
    period = fields.String(required=True)
    zone_label = fields.String()
    period_label = fields.String()
    reference = fields.String(required=True)
    view = fields.String(required=True)
    test = fields.String(required=True)
    k = fields.Raw(required=True)
    min_denominator = fields.Raw()
    stages = fields.List(fields.String(), required=True)
    groups = fields.List(fields.String(), required=True)
    rows = fields.List(fields.Dict(), required=True)
    comparisons = fields.List(fields.Dict(), required=True)
    pooled = fields.List(fields.Dict())
    unknown = fields.List(fields.Dict())
    representation = fields.List(fields.Dict(), metadata={
        "description": "Share of each group per stage against the eligible pool (Belgian "
                       "nationals of the candidate age band); 'verdict' below / above / "
                       "consistent from the exact binomial test with Holm over the tested rows "
                       "(applicants and hires), see representation_test"})
    benchmark_label = fields.String(allow_none=True)
    benchmark_scope = fields.String(allow_none=True)
    representation_test = fields.Dict()
    conversion = fields.List(fields.Dict(), metadata={
        "description": "Application-to-appointment ratio per group with its Wilson interval and "
                       "the ratio to the reference group (Katz interval), from the published "
                       "rounded counts"})
    quality = fields.Dict()
    excluded_groups = fields.List(fields.Dict())
    family_size = fields.Integer()
    synthetic = fields.Boolean()
    suppression = fields.Dict()


# --- tokens -------------------------------------------------------------------------------
class TokenCreateSchema(_Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))


class TokenSchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True, metadata={"description": "First characters of the "
                                                    "secret, to recognise it."})
    user = fields.String(required=True)
    created_at = UtcDateTime(required=True)
    last_used_at = UtcDateTime(allow_none=True)
    revoked_at = UtcDateTime(allow_none=True)


class TokenCreatedSchema(TokenSchema):
    secret = fields.String(required=True, metadata={"description": "Shown once; only its "
                                                    "SHA-256 is stored."})


class TokenListSchema(ma.Schema):
    items = fields.List(fields.Nested(TokenSchema), required=True)


class TokenListArgs(_Query):
    all = fields.Boolean(load_default=False, metadata={"description": "Admins: every user's."})


class TokenPath(ma.Schema):
    token_id = fields.Integer(required=True)


# --- audit --------------------------------------------------------------------------------
class AuditQuerySchema(PageArgs):
    action = fields.String(validate=validate.Length(min=1, max=40))
    user = fields.String(validate=validate.Length(min=1, max=80))
    zone = fields.String(validate=validate.Length(min=1, max=16))
    date_from = fields.Date()
    date_to = fields.Date()


class AuditEntrySchema(ma.Schema):
    id = fields.Integer(required=True)
    at = UtcDateTime(required=True)
    user_id = fields.Integer(allow_none=True)
    username = fields.String(allow_none=True)
    action = fields.String(required=True)
    zone = fields.String(allow_none=True)
    detail = fields.Dict(required=True)
    ip = fields.String(allow_none=True)


class AuditPageSchema(PageSchema):
    items = fields.List(fields.Nested(AuditEntrySchema), required=True)


# --- retention ----------------------------------------------------------------------------
class RetentionQuerySchema(_Query):
    zone = fields.String(required=True, validate=validate.Length(min=1, max=16),
                         metadata={"description": "Zone code, or ALL for the all-zone pool.",
                                   "example": "ANT"})
    reference = fields.String(load_default=KNOWN_BACKGROUNDS[0],
                              validate=validate.OneOf(KNOWN_BACKGROUNDS))
    lang = fields.String(load_default="en", validate=validate.OneOf(UI_LANGUAGES))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class RetentionReportSchema(ma.Schema):
    """``RetentionReport.to_dict()``: turnover, headcount, representation, Kaplan-Meier,
    first-year attrition, cumulative incidence, Cox, exit reasons and themes; published values
    as ``{"value", "suppressed"}``."""

    class Meta:
        unknown = ma.INCLUDE

    zone = fields.String(required=True)
    zone_label = fields.String()
    reference = fields.String(required=True)
    window_start = fields.String()
    reference_date = fields.String()
    k = fields.Raw(required=True)
    groups = fields.List(fields.String(), required=True)
    turnover = fields.List(fields.Dict(), required=True)
    km = fields.List(fields.Dict())
    findings = fields.List(fields.Raw())
    suppression = fields.Dict()


# --- planner ------------------------------------------------------------------------------
class PlannerQuerySchema(_Query):
    zone = fields.String(required=True, validate=validate.Length(min=1, max=16),
                         metadata={"description": "Zone code (one zone; no pool).",
                                   "example": "ANT"})
    target = fields.Float(load_default=20.0, validate=validate.Range(min=1, max=99),
                          metadata={"description": "Target share with a migration background, "
                                                   "in %."})
    years = fields.Integer(load_default=10, validate=validate.Range(min=1, max=20),
                           metadata={"description": "Horizon in years."})


class PlannerReportSchema(ma.Schema):
    """``PlannerReport.to_dict()``: inputs (published values), the projection with its 90 %
    interval, the share of hires needed for the target (exits as they are, and without the
    group's extra exits), applicants needed and the what-if per selection stage. A hidden
    input is ``{"value": null, "suppressed": true}``."""

    class Meta:
        unknown = ma.INCLUDE

    zone = fields.String(required=True)
    zone_label = fields.String()
    reference_date = fields.String()
    years_used = fields.List(fields.String())
    target = fields.Float(required=True)
    horizon_years = fields.Integer(required=True)
    inputs = fields.Dict(required=True)
    projection = fields.List(fields.Dict(), required=True)
    interval = fields.Float()
    steady_state_share = fields.Float(allow_none=True)
    required_hire_share = fields.Dict(required=True)
    applicants_needed_per_year = fields.Raw(allow_none=True)
    applicants_needed_per_year_equal_exits = fields.Raw(allow_none=True)
    funnel = fields.Dict()
    notes = fields.List(fields.String())


# --- pilots -------------------------------------------------------------------------------
class PilotSchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String()
    target = fields.String(required=True, metadata={"description": "A stage, or retention."})
    # PilotInfo.to_dict() gives ISO strings already.
    start_date = fields.String(required=True, metadata={"format": "date"})
    end_date = fields.String(allow_none=True, metadata={"format": "date"})
    zones = fields.List(fields.String(), required=True)
    comparison_zones = fields.List(fields.String(), required=True)


class PilotListSchema(ma.Schema):
    items = fields.List(fields.Nested(PilotSchema), required=True)


class PilotPath(ma.Schema):
    pilot_id = fields.Integer(required=True)


class PilotEvaluationQuerySchema(_Query):
    lang = fields.String(load_default="en", validate=validate.OneOf(UI_LANGUAGES))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class PilotEvaluationSchema(ma.Schema):
    """``PilotEvaluation.to_dict()`` (the evaluation page's numbers), published values as
    ``{"value", "suppressed"}``."""

    class Meta:
        unknown = ma.INCLUDE

    pilot = fields.Nested(PilotSchema, required=True)
    outcome = fields.String(required=True)
    focal_group = fields.String(required=True)
    reference_group = fields.String(required=True)
    start_period = fields.String()
    k = fields.Raw(required=True)
    min_denominator = fields.Raw()
    cells = fields.List(fields.Dict(), required=True)
    series = fields.List(fields.Dict())
    changes = fields.List(fields.Dict())
    did = fields.Dict(allow_none=True)
    estimates_hidden = fields.Boolean()
    verdict = fields.String(required=True)
    verdict_text = fields.String()
    reasons = fields.List(fields.Raw())
    language = fields.String()
    synthetic = fields.Boolean()
    suppression = fields.Dict()


# --- briefings ---------------------------------------------------------------------------
class BriefingQuerySchema(_Query):
    zone = fields.String(required=True, validate=validate.Length(min=1, max=16),
                         metadata={"example": "ANT"})
    period = fields.String(required=True, validate=validate.Length(min=1, max=80),
                           metadata={"description": "year:YYYY", "example": "year:2024"})
    lang = fields.String(load_default="nl", validate=validate.OneOf(UI_LANGUAGES))
    format = fields.String(load_default="pdf", validate=validate.OneOf(["pdf", "html"]))
