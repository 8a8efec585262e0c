"""The raw data contract: what every landing file of every source must look like.

One place for it: the generator writes files that follow it, the loader validates
against it (bad rows go to quarantine with a reason), and dbt's sources mirror it.
Landing files live in ``<landing>/<source>/`` (CSV, JSONL or Parquet), one file per load.
"""

from __future__ import annotations

from dataclasses import dataclass

# Column types the loader knows how to parse. Raw tables store them as:
# string -> varchar, timestamp -> timestamp (UTC, no zone), double -> double,
# integer -> bigint, boolean -> boolean, json -> varchar holding a JSON object.
COLUMN_TYPES = ("string", "timestamp", "double", "integer", "boolean", "json")

# Columns the loader adds to every raw table (and to quarantine rows).
LOAD_COLUMNS = ("_load_id", "_file_name", "_row_number", "_loaded_at")

# A row whose event time lies further than this ahead of its load time is quarantined.
FUTURE_TOLERANCE_HOURS = 24

# Machine-readable quarantine reasons, in the order the loader checks them.
QUARANTINE_REASONS = (
    "missing_required",  # a required column is empty
    "unparseable_timestamp",  # a timestamp column does not parse
    "unparseable_number",  # a numeric or boolean column does not parse
    "invalid_value",  # a value outside the column's allowed set
    "future_timestamp",  # the event time is after the load time (+ tolerance)
)
# Not a check: rows of a person who asked to be forgotten, re-delivered after the request
# (journeymap.erasure's tombstones); quarantined without a copy of the record.
ERASED_REASON = "erased"
# Not a check: a record the file's format cannot parse (a CSV row with the wrong number of
# fields or an unterminated quote, a line over the reader's maximum size, a JSON line that is
# not a JSON object); quarantined with its line number and text, the rest of the file loads.
MALFORMED_REASON = "malformed_record"


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "string"
    required: bool = False
    allowed: tuple[str, ...] | None = None  # closed value set, checked case-sensitively

    def __post_init__(self) -> None:
        if self.type not in COLUMN_TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.type!r}")


@dataclass(frozen=True)
class Source:
    name: str  # also the landing folder and the raw table name
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # what identifies one record (duplicates share it)
    event_time: str  # the column that says when it happened (UTC)
    description: str = ""

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


EVENT_TYPES = ("track", "page", "screen", "identify")
DEVICE_TYPES = ("desktop", "mobile", "tablet")
EMAIL_EVENT_TYPES = ("sent", "delivered", "open", "click", "bounce", "unsubscribe")
LIFECYCLE_STAGES = ("subscriber", "lead", "opportunity", "customer", "evangelist", "churned")
ORDER_STATUSES = ("completed", "refunded", "cancelled")
SUPPORT_CHANNELS = ("email", "chat", "phone")
AUTHOR_TYPES = ("customer", "agent")
REVIEW_TYPES = ("review", "nps")


def _tracking_columns() -> tuple[Column, ...]:
    """Segment-like track/page/screen events; shared by web and app."""
    return (
        Column("event_id", required=True),
        Column("anonymous_id"),
        Column("user_id"),
        Column("event_type", allowed=EVENT_TYPES),
        Column("event_name", required=True),
        Column("occurred_at", "timestamp", required=True),
        Column("page_url"),
        Column("referrer"),
        Column("utm_source"),
        Column("utm_medium"),
        Column("utm_campaign"),
        Column("device_type", allowed=DEVICE_TYPES),
        Column("properties", "json"),
        # The event's place in its export (import-events writes the row number, or the rank
        # by an order column); orders events at the same instant. Absent: the file row.
        Column("event_order", "integer"),
    )


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            "web_events",
            _tracking_columns(),
            key=("event_id",),
            event_time="occurred_at",
            description="Website clickstream (page views and tracked actions).",
        ),
        Source(
            "app_events",
            _tracking_columns(),
            key=("event_id",),
            event_time="occurred_at",
            description="Mobile app clickstream (screens and tracked actions).",
        ),
        Source(
            "identifies",
            (
                Column("identify_id", required=True),
                Column("anonymous_id", required=True),
                Column("user_id", required=True),
                Column("occurred_at", "timestamp", required=True),
            ),
            key=("identify_id",),
            event_time="occurred_at",
            description="A device's anonymous id seen logged in as a known user.",
        ),
        Source(
            "email_events",
            (
                Column("email_event_id", required=True),
                Column("customer_id"),
                Column("email"),
                Column("campaign_id", required=True),
                Column("event_type", required=True, allowed=EMAIL_EVENT_TYPES),
                Column("occurred_at", "timestamp", required=True),
            ),
            key=("email_event_id",),
            event_time="occurred_at",
            description="Email service provider events (sends, opens, clicks...).",
        ),
        Source(
            "crm_contacts",
            (
                Column("customer_id", required=True),
                Column("email"),
                Column("phone"),
                Column("created_at", "timestamp", required=True),
                Column("lifecycle_stage", allowed=LIFECYCLE_STAGES),
                Column("plan"),
                Column("region"),
                Column("consent_email", "boolean"),
                Column("consent_sms", "boolean"),
                Column("updated_at", "timestamp", required=True),
                # Consent to analytics and profiling (GDPR art. 6/7); missing = not refused.
                Column("consent_analytics", "boolean"),
            ),
            key=("customer_id", "updated_at"),
            event_time="updated_at",
            description="CRM contact versions: one row per change of a contact.",
        ),
        Source(
            "orders",
            (
                Column("order_id", required=True),
                Column("customer_id", required=True),
                Column("occurred_at", "timestamp", required=True),
                Column("status", required=True, allowed=ORDER_STATUSES),
                Column("amount", "double", required=True),
                Column("currency", required=True),
            ),
            key=("order_id",),
            event_time="occurred_at",
            description="Orders from the shop backend.",
        ),
        Source(
            "subscriptions",
            (
                Column("subscription_id", required=True),
                Column("customer_id", required=True),
                Column("plan", required=True),
                Column("started_at", "timestamp", required=True),
                Column("cancelled_at", "timestamp"),
                Column("updated_at", "timestamp", required=True),
            ),
            key=("subscription_id", "updated_at"),
            event_time="updated_at",
            description="Subscription versions: a row when started, another when cancelled.",
        ),
        Source(
            "support_messages",
            (
                Column("message_id", required=True),
                Column("ticket_id", required=True),
                Column("customer_id"),
                Column("email"),
                Column("channel", required=True, allowed=SUPPORT_CHANNELS),
                Column("author_type", required=True, allowed=AUTHOR_TYPES),
                Column("occurred_at", "timestamp", required=True),
                Column("subject"),
                Column("body", required=True),
                Column("csat", "integer"),
            ),
            key=("message_id",),
            event_time="occurred_at",
            description="Support tickets, chats and call transcripts, one row per message.",
        ),
        Source(
            "reviews",
            (
                Column("review_id", required=True),
                Column("customer_id"),
                Column("email"),
                Column("review_type", required=True, allowed=REVIEW_TYPES),
                Column("occurred_at", "timestamp", required=True),
                Column("score", "integer", required=True),
                Column("body"),
            ),
            key=("review_id",),
            event_time="occurred_at",
            description="Product reviews (score 1-5) and NPS answers (score 0-10).",
        ),
        Source(
            "marketing_spend",
            (
                Column("spent_on", "timestamp", required=True),
                Column("channel", required=True),
                Column("campaign", required=True),
                Column("spend", "double", required=True),
                Column("currency", required=True),
            ),
            key=("spent_on", "channel", "campaign"),
            event_time="spent_on",
            description=(
                "Paid media spend per day (00:00 UTC), channel and campaign, as the ad platforms "
                "export it; channel and campaign named as the visits' campaign tags resolve to."
            ),
        ),
    )
}


def event_source(name: str, description: str = "") -> Source:
    """The contract of an event source a project declares (journeymap.yml ``sources``): the
    same columns as web and app events, so ``import-events`` writes its landing files."""
    return Source(
        name,
        _tracking_columns(),
        key=("event_id",),
        event_time="occurred_at",
        description=description or f"Events of {name}, a source the project declares.",
    )


def source(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        known = ", ".join(SOURCES)
        raise KeyError(f"unknown source {name!r}; known sources: {known}") from None
