"""What a customer's journey says about them, as of a cutoff: the data the segmentation's
mixture model reads (blocks of counts, rates and scores, ``ml.mixture``) and a readable
profile of the same facts (rates and shares, for the persona cards).

Who: known customers (CRM contacts) with at least one web or app session before the cutoff.
Only facts strictly before the cutoff count. Exposure is the time a customer could have
shown a behaviour: weeks from their first event to the cutoff (at least one).

The blocks, each one kind of behaviour with its textbook distribution (``ml.mixture``):

* ``browse_before_signup`` / ``browse_after_signup``: web and app events by canonical event
  before and after the customer signed up (CRM created_at), categorical. Split because a
  prospect's and a customer's pages differ for everyone; for a customer who signed up before
  the data began, "before" is unobserved (no counts), not a finding. Events that only say how
  a visit started or that someone logged in (``MECHANICAL_EVENTS``) are left out: the
  platform and channel blocks hold that.
* ``step_pairs``: consecutive canonical steps within a session (the bigrams of the session
  paths) as a first-order Markov chain: for each step that starts one of the most common
  pairs, where the customer goes next (one of those pairs, or ``STEP_ELSEWHERE``), a
  categorical per step (``Categorical.groups``), as in mixtures of Markov chains for web
  navigation (Cadez et al. 2003, "Model-based clustering and visualization of navigation
  patterns on a web site"). The order of what they do, not the mix again: a flat
  multinomial over pairs re-counted the browse blocks' events (a pair's frequency is
  mostly its two steps' frequencies), so every purchase attempt (four funnel pairs) weighed
  twice and the model split personas into buyers and non-buyers.
* ``visit_channel``: sessions by acquisition channel, categorical.
* ``device_type`` / ``platform``: the customer's devices by type and by web/app, each device
  counted once however many sessions it saw (one phone is one piece of evidence).
* ``visits``: sessions over exposure weeks; ``pages_per_visit``: events over sessions;
  ``orders``: completed orders over exposure weeks; ``support_contacts`` and
  ``billing_complaints`` (a billing message with negative wording, ``ml.keyword_topics``)
  over exposure weeks: rates (Poisson).
* ``email_opens``: marketing emails opened of those delivered, a proportion (binomial).
* ``visits_before_signup`` (a rate with exposure 1) and ``days_to_signup`` (first event to
  sign-up, a duration), only for customers who signed up after their first event.
* ``plan``: the plan of each subscription the customer started, categorical.
* ``review_score`` / ``nps_score``: mean review stars and NPS answer, scores on a scale of
  whole points (unobserved for customers who never answered).
* with text labels (the text model's ``ml.text_labels``, optional): ``intents`` and
  ``sentiments`` of the customer's texts, categorical.

The category lists (``vocabulary``) come from the data, the most common ones (capped); pass
a fitted model's vocabulary to describe customers at another cutoff in the same terms.

``prepare_frames`` turns the frames into integer codes and sorted arrays once (keys, times,
categories, message topics, session order); ``build_customer_features`` then cuts the
tables at a cutoff (``PreparedFrames.upto``: the rows before it, or the tables themselves when
every row is) and describes the customers with counts over them, so the weekly snapshots can
describe the same customers at a dozen cutoffs without reading or sorting again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from journeymap.ml.features import naive_utc
from journeymap.ml.keyword_topics import tag_messages
from journeymap.ml.mixture import Block, Categorical, Duration, Proportion, Rate, Score

WEEK_NS = np.int64(7 * 86_400 * 10**9)
DAY_NS = np.int64(86_400 * 10**9)
CLICKSTREAM_SOURCES = ("web_events", "app_events")
# How a visit started or who is logged in, not what the customer came for.
MECHANICAL_EVENTS = ("app_opened", "app_installed", "logged_in", "signed_up", "unmapped")
EMAIL_DELIVERED, EMAIL_OPENED = "email_delivered", "email_opened"
PAIR_SEPARATOR = " > "
STEP_ELSEWHERE = "(elsewhere)"  # the next step is not one of the kept pairs
UNKNOWN = "unknown"
NOT_A_TIME = np.iinfo(np.int64).max  # a missing time sorts after every cutoff
# Most categories a block keeps (the rest are left out of that block).
VOCABULARY_LIMITS = {
    "browse": 40,
    "step_pairs": 20,
    "visit_channel": 12,
    "device_type": 6,
    "platform": 4,
    "plan": 8,
    "intents": 20,
    "sentiments": 8,
}
Vocabulary = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class SegmentFrames:
    """What the segmentation reads, one frame per kind of fact (times naive UTC or aware).

    customers: customer_key, signed_up_at (CRM created_at) - the known customers, once each;
        their order is the order of the features' rows.
    events: customer_key (or ``customer``, the customer's position in ``customers``),
        occurred_at, canonical_event, source, session_key (a key, or a number: negative when
        missing), is_conversion, revenue (fct_events of known customers; email deliveries and
        opens included).
    sessions: customer_key (or ``customer``), anonymous_id (a key or a number), started_at,
        platform (web/app), device_type, acquisition_channel.
    messages: customer_key, occurred_at, subject, body (support messages they wrote).
    reviews: customer_key, occurred_at, text_type (review or nps), score.
    subscriptions: customer_key, subscription_id, plan, started_at.
    text_labels: customer_key, occurred_at, intent, sentiment, emotion - optional (None
        until the text model has run).
    """

    customers: pd.DataFrame
    events: pd.DataFrame
    sessions: pd.DataFrame
    messages: pd.DataFrame
    reviews: pd.DataFrame
    subscriptions: pd.DataFrame
    text_labels: pd.DataFrame | None = None


@dataclass(frozen=True)
class Coded:
    """One kind of fact as arrays: ``customer`` (position among the known customers), ``time``
    (int64 ns, ``NOT_A_TIME`` when missing) and further arrays; ``names`` holds the labels
    of each coded categorical array."""

    customer: np.ndarray
    time: np.ndarray
    arrays: dict[str, np.ndarray]
    names: dict[str, np.ndarray]

    def upto(self, cutoff: np.int64) -> Coded:
        """The rows strictly before ``cutoff`` (the table itself when that is every row)."""
        keep = self.time < cutoff
        return self if keep.all() else _take(self, np.flatnonzero(keep))


@dataclass(frozen=True)
class PreparedFrames:
    """The frames coded once (see the module docstring)."""

    customers: pd.Index  # the known customers; every ``customer`` array indexes into it
    signup: np.ndarray  # int64 ns per known customer
    # int64 ns per known customer: their first event or session (NOT_A_TIME if none); the
    # first before any cutoff is this one when it is before the cutoff.
    first_seen: np.ndarray
    events: Coded  # the orders and email deliveries and opens of known customers
    clicks: Coded  # web/app events in session order (``canonical_event``, ``browse``)
    pairs: Coded  # consecutive browse steps within a session, timed by the second step
    sessions: Coded
    devices: Coded  # each device once, timed by its first session
    messages: Coded
    reviews: Coded
    subscriptions: Coded
    text_labels: Coded | None

    def upto(self, cutoff: np.int64) -> PreparedFrames:
        """Every table cut to its facts before ``cutoff``."""
        cut = {
            name: value.upto(cutoff)
            for name, value in vars(self).items()
            if isinstance(value, Coded)
        }
        return replace(self, **cut)


@dataclass(frozen=True)
class CustomerFeatures:
    """The customers described (sorted keys), the mixture model's blocks (rows in the same
    order), the readable profile (one row per customer), the categories used and a few
    label counts for the cards."""

    customers: pd.Index
    blocks: list[Block]
    profile: pd.DataFrame
    cutoff: pd.Timestamp
    vocabulary: dict[str, tuple[str, ...]]
    # Per-customer counts the persona cards summarise by segment (customers x labels):
    # web visits by channel, support messages by topic, texts by intent and emotion.
    counts: dict[str, pd.DataFrame]


# ----------------------------------------------------------------------------- coding


def _ns(values: pd.Series) -> np.ndarray:
    times = naive_utc(pd.Series(values)).to_numpy(dtype="datetime64[ns]").view(np.int64)
    return np.where(times == np.iinfo(np.int64).min, NOT_A_TIME, times)


def _labels(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes and the label of each code; missing values get the label ``UNKNOWN``. Numbered
    keys (sessions, devices) need no labels: their codes are -1 where missing (a negative
    number or none)."""
    values = pd.Series(values)
    if pd.api.types.is_numeric_dtype(values):
        codes, _ = pd.factorize(values)
        codes[(values < 0).to_numpy()] = -1
        return codes.astype(np.int32), np.zeros(0, dtype=object)
    if isinstance(values.dtype, pd.CategoricalDtype):  # already coded (the warehouse read)
        values = (
            values.cat.add_categories([UNKNOWN]) if UNKNOWN not in values.cat.categories else values
        )
        values = values.fillna(UNKNOWN)
        return values.cat.codes.to_numpy(dtype=np.int32), np.asarray(
            values.cat.categories.astype(str), dtype=object
        )
    codes, names = pd.factorize(values.fillna(UNKNOWN))
    return codes.astype(np.int32), np.asarray(names, dtype=object).astype(str).astype(object)


def _code(
    frame: pd.DataFrame,
    customers: pd.Index,
    time: str,
    categorical: tuple[str, ...] = (),
    numeric: tuple[str, ...] = (),
    flags: tuple[str, ...] = (),
) -> Coded:
    """The frame's rows of known customers as a ``Coded`` table (columns are coded whole and
    then cut to those rows: cheaper than copying the frame). The customer is a position in
    ``customers`` (column ``customer``) or a key (``customer_key``)."""
    if "customer" in frame:
        rows = frame["customer"].to_numpy(dtype=np.int64)
        rows = np.where((rows >= 0) & (rows < len(customers)), rows, -1)
    else:
        rows = customers.get_indexer(frame["customer_key"].astype(str))
    keep = np.flatnonzero(rows >= 0)
    arrays, names = {}, {}
    for column in categorical:
        codes, names[column] = _labels(frame[column])
        arrays[column] = codes[keep]
    for column in numeric:
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        arrays[column] = values[keep]
    for column in flags:
        arrays[column] = frame[column].fillna(False).astype(bool).to_numpy()[keep]
    return Coded(rows[keep].astype(np.int64), _ns(frame[time])[keep], arrays, names)


def _is(table: Coded, column: str, values: str | tuple[str, ...]) -> np.ndarray:
    """Rows whose ``column`` is (one of) ``values``, compared as codes."""
    wanted = np.isin(table.names[column].astype(str), values)
    return wanted[table.arrays[column]] if len(wanted) else np.zeros(len(table.time), bool)


def _take(table: Coded, rows: np.ndarray) -> Coded:
    return Coded(
        table.customer[rows],
        table.time[rows],
        {k: v[rows] for k, v in table.arrays.items()},
        table.names,
    )


def _clicks_and_pairs(events: Coded) -> tuple[Coded, Coded]:
    """The web/app events in session order (``entry``: a session's first event; ``browse``:
    neither an entry nor a mechanical event) and the consecutive browse steps."""
    clicks = _take(
        events,
        np.flatnonzero(_is(events, "source", CLICKSTREAM_SOURCES) & _known(events, "session_key")),
    )
    names = clicks.names["canonical_event"]
    name_rank = np.argsort(np.argsort(names.astype(str)))
    event, session = clicks.arrays["canonical_event"], clicks.arrays["session_key"]
    order = np.lexsort((name_rank[event] if len(event) else event, clicks.time, session))
    clicks = _take(clicks, order)
    session = clicks.arrays["session_key"]
    entry = np.r_[True, session[1:] != session[:-1]] if len(session) else np.zeros(0, bool)
    clicks.arrays["browse"] = ~entry & ~_is(clicks, "canonical_event", MECHANICAL_EVENTS)
    browse = _take(clicks, np.flatnonzero(clicks.arrays["browse"]))
    # What the builder reads of the clicks: the event and whether it is a browse step.
    clicks = Coded(
        clicks.customer,
        clicks.time,
        {k: clicks.arrays[k] for k in ("canonical_event", "browse")},
        {"canonical_event": names},
    )
    same = browse.arrays["session_key"][1:] == browse.arrays["session_key"][:-1]
    event = browse.arrays["canonical_event"]
    pair_codes = event[:-1][same].astype(np.int64) * len(names) + event[1:][same]
    # Pair codes are below len(names)^2: number the ones that occur without sorting.
    distinct = np.flatnonzero(np.bincount(pair_codes, minlength=len(names) ** 2))
    number = np.full(len(names) ** 2, -1, dtype=np.int64)
    number[distinct] = np.arange(len(distinct))
    inverse = number[pair_codes]
    labels = np.array(
        [f"{names[c // len(names)]}{PAIR_SEPARATOR}{names[c % len(names)]}" for c in distinct],
        dtype=object,
    )
    pairs = Coded(
        browse.customer[1:][same],
        browse.time[1:][same],
        {"pair": inverse.astype(np.int32), "from": event[:-1][same]},
        {"pair": labels, "from": names},
    )
    return clicks, pairs


def _known(table: Coded, column: str) -> np.ndarray:
    """Rows whose ``column`` was not missing."""
    codes = table.arrays[column]
    missing = np.flatnonzero(table.names[column] == UNKNOWN)
    return (codes >= 0) & ~np.isin(codes, missing)


def _devices(sessions: Coded) -> Coded:
    """Each device once, with the type and platform of its first session."""
    order = np.lexsort((sessions.time, sessions.arrays["device"]))
    ordered = _take(sessions, order)
    device = ordered.arrays["device"]
    first = np.r_[True, device[1:] != device[:-1]] if len(device) else np.zeros(0, bool)
    return _take(ordered, np.flatnonzero(first))


def prepare_frames(frames: SegmentFrames) -> PreparedFrames:
    """Code the frames once (see the module docstring)."""
    known = frames.customers.assign(customer_key=frames.customers["customer_key"].astype(str))
    customers = pd.Index(known["customer_key"], name="customer_key", dtype=object)
    if not customers.is_unique:
        raise ValueError("SegmentFrames.customers lists a customer twice")
    coded_events = _code(
        frames.events,
        customers,
        "occurred_at",
        ("canonical_event", "source", "session_key"),
        ("revenue",),
        ("is_conversion",),
    )
    clicks, pairs = _clicks_and_pairs(coded_events)
    sessions = _code(
        frames.sessions,
        customers,
        "started_at",
        ("device_type", "platform", "acquisition_channel", "anonymous_id"),
    )
    sessions.arrays["device"] = sessions.arrays.pop("anonymous_id")  # the device, as a code
    first_seen = np.full(len(customers), NOT_A_TIME, dtype=np.int64)
    for table in (coded_events, sessions):
        np.minimum.at(first_seen, table.customer, table.time)
    # Of the other events, the builder counts only orders and email deliveries and opens.
    counted = coded_events.arrays["is_conversion"] | _is(
        coded_events, "canonical_event", (EMAIL_DELIVERED, EMAIL_OPENED)
    )
    messages = frames.messages
    tags = tag_messages(messages["body"], messages.get("subject"))
    messages = messages.assign(
        topic=tags["topic"].to_numpy(),
        complaint=((tags["topic"] == "billing") & tags["is_negative"]).to_numpy(),
    )
    coded_messages = _code(messages, customers, "occurred_at", ("topic",), flags=("complaint",))
    labels = frames.text_labels
    return PreparedFrames(
        customers=customers,
        signup=_ns(known["signed_up_at"]),
        first_seen=first_seen,
        events=_take(coded_events, np.flatnonzero(counted)),
        clicks=clicks,
        pairs=pairs,
        sessions=sessions,
        devices=_devices(sessions),
        messages=coded_messages,
        reviews=_code(frames.reviews, customers, "occurred_at", ("text_type",), ("score",)),
        subscriptions=_code(
            frames.subscriptions.drop_duplicates("subscription_id"),
            customers,
            "started_at",
            ("plan",),
        ),
        text_labels=(
            None
            if labels is None or labels.empty
            else _code(
                labels,
                customers,
                "occurred_at",
                tuple(c for c in ("intent", "sentiment", "emotion") if c in labels),
            )
        ),
    )


# --------------------------------------------------------------------------- counting


def count_matrix(rows: np.ndarray, columns: np.ndarray, n: int, width: int) -> np.ndarray:
    """customers x categories counts of (row, column) pairs; rows or columns < 0 skipped."""
    keep = (rows >= 0) & (columns >= 0)
    flat = rows[keep].astype(np.int64) * width + columns[keep]
    return np.bincount(flat, minlength=n * width).astype(float).reshape(n, width)


def per_customer(rows: np.ndarray, n: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Rows (or their weights) summed per customer; rows < 0 are skipped."""
    keep = rows >= 0
    w = None if weights is None else np.asarray(weights, dtype=float)[keep]
    return np.bincount(rows[keep], weights=w, minlength=n).astype(float)


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """part / whole, NaN where whole is 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(whole > 0, part / np.maximum(whole, 1e-300), np.nan)


class _Builder:
    """Blocks and profile columns of the customers described at one cutoff, from tables cut
    at the cutoff (``PreparedFrames.upto``)."""

    def __init__(
        self, prepared: PreparedFrames, cutoff: np.int64, vocabulary: Vocabulary | None
    ) -> None:
        self.cutoff = cutoff
        has_session = np.zeros(len(prepared.customers), dtype=bool)
        has_session[prepared.sessions.customer] = True
        self.positions = np.cumsum(has_session) - 1
        self.positions[~has_session] = -1
        self.customers = prepared.customers[has_session]
        self.n = int(has_session.sum())
        self.given = dict(vocabulary or {})
        self.vocabulary: dict[str, tuple[str, ...]] = {}
        self.blocks: list[Block] = []
        self.profile: dict[str, np.ndarray] = {}
        self.counts: dict[str, pd.DataFrame] = {}
        self._rows: dict[int, np.ndarray] = {}

    def rows(self, table: Coded, where: np.ndarray | None = None) -> np.ndarray:
        """Output rows of the table's facts (where ``where``), else -1."""
        rows = self._rows.get(id(table))
        if rows is None:  # several blocks count one table: look its rows up once
            rows = self._rows[id(table)] = self.positions[table.customer]
        return rows if where is None else np.where(where, rows, -1)

    def columns(
        self, name: str, table: Coded, column: str, rows: np.ndarray
    ) -> tuple[np.ndarray, list[str]]:
        """The table's codes of ``column`` mapped to the vocabulary ``name`` (-1 outside)."""
        names = table.names[column]
        codes = table.arrays[column]
        if name in self.given:
            chosen = list(self.given[name])
        elif name in self.vocabulary:  # a second block over the same categories
            chosen = list(self.vocabulary[name])
        else:
            counts = np.bincount(codes[rows >= 0], minlength=len(names))
            top = np.argsort(-counts, kind="stable")[: VOCABULARY_LIMITS[name]]
            chosen = sorted(str(names[i]) for i in top if counts[i] > 0)
        self.vocabulary[name] = tuple(chosen)
        lookup = pd.Index(chosen).get_indexer(names.astype(str)) if len(names) else np.zeros(0, int)
        mapped = lookup[codes] if len(codes) else codes
        return mapped, chosen

    def categorical(
        self,
        block: str,
        table: Coded,
        column: str,
        rows: np.ndarray,
        vocabulary: str | None = None,
    ) -> tuple[np.ndarray, list[str]]:
        mapped, chosen = self.columns(vocabulary or block, table, column, rows)
        counts = count_matrix(rows, mapped, self.n, len(chosen))
        self.blocks.append(Categorical(block, counts, tuple(chosen)))
        return counts, chosen

    def count(self, name: str, table: Coded, column: str, rows: np.ndarray) -> None:
        """Per-customer counts of every label (for the cards, not the model)."""
        names = table.names[column]
        counts = count_matrix(rows, table.arrays[column], self.n, len(names))
        used = counts.sum(axis=0) > 0
        self.counts[name] = pd.DataFrame(
            counts[:, used], index=self.customers, columns=[str(v) for v in names[used]]
        )


def build_customer_features(
    frames: SegmentFrames | PreparedFrames,
    cutoff: pd.Timestamp,
    vocabulary: Vocabulary | None = None,
) -> CustomerFeatures:
    """The blocks and the profile of every known customer with a session before ``cutoff``."""
    prepared = frames if isinstance(frames, PreparedFrames) else prepare_frames(frames)
    cutoff = pd.Timestamp(cutoff)
    at = np.int64(cutoff.as_unit("ns").value)
    prepared = prepared.upto(at)
    b = _Builder(prepared, at, vocabulary)
    first_seen = np.where(prepared.first_seen < at, prepared.first_seen, NOT_A_TIME)
    described = b.positions >= 0
    first_seen, signup = first_seen[described], prepared.signup[described]
    weeks = np.maximum((b.cutoff - first_seen) / WEEK_NS, 1.0)
    signed_up_in_data = (signup > first_seen) & (signup < b.cutoff) & (signup != NOT_A_TIME)

    _clickstream(b, prepared, signup)
    visits = _sessions(b, prepared, weeks)
    _orders(b, prepared, weeks)
    _support(b, prepared, weeks)
    _email(b, prepared)
    _consideration(b, prepared, signup, first_seen, signed_up_in_data)
    _plans(b, prepared)
    _reviews(b, prepared)
    if prepared.text_labels is not None:
        _text_labels(b, prepared.text_labels)
    b.profile["visits"] = visits
    return CustomerFeatures(
        customers=b.customers,
        blocks=b.blocks,
        profile=pd.DataFrame(b.profile, index=b.customers),
        cutoff=cutoff,
        vocabulary=b.vocabulary,
        counts=b.counts,
    )


def _clickstream(b: _Builder, p: PreparedFrames, signup: np.ndarray) -> None:
    clicks = p.clicks
    rows = b.rows(clicks, clicks.arrays["browse"])
    signed_up = np.full(len(p.customers), NOT_A_TIME, dtype=np.int64)
    signed_up[b.positions >= 0] = signup
    after = clicks.time >= signed_up[clicks.customer]
    b.columns("browse", clicks, "canonical_event", rows)  # one vocabulary for both blocks
    before, names = b.categorical(
        "browse_before_signup", clicks, "canonical_event", np.where(after, -1, rows), "browse"
    )
    later, _ = b.categorical(
        "browse_after_signup", clicks, "canonical_event", np.where(after, rows, -1), "browse"
    )
    both = before + later
    total = both.sum(axis=1)
    for j, name in enumerate(names):
        b.profile[f"event_share:{name}"] = _share(both[:, j], total)
    _transitions(b, p.pairs)


def _transitions(b: _Builder, pairs: Coded) -> None:
    """The ``step_pairs`` block: each kept pair's count and, per step that starts a kept
    pair, the count of its other next steps; grouped by that first step (a Markov chain)."""
    rows = b.rows(pairs)
    kept, chosen = b.columns("step_pairs", pairs, "pair", rows)
    steps = pd.Index(sorted({label.split(PAIR_SEPARATOR)[0] for label in chosen}))
    step = steps.get_indexer(pairs.names["from"].astype(str))[pairs.arrays["from"]]
    column = np.where(kept >= 0, kept, np.where(step >= 0, len(chosen) + step, -1))
    categories = [*chosen, *(f"{s}{PAIR_SEPARATOR}{STEP_ELSEWHERE}" for s in steps)]
    groups = steps.get_indexer([c.split(PAIR_SEPARATOR)[0] for c in categories])
    counts = count_matrix(rows, column, b.n, len(categories))
    b.blocks.append(Categorical("step_pairs", counts, tuple(categories), groups))


def _sessions(b: _Builder, p: PreparedFrames, weeks: np.ndarray) -> np.ndarray:
    s = p.sessions
    rows = b.rows(s)
    on_app = _is(s, "platform", "app")
    web_rows = np.where(on_app, -1, rows)
    channels, names = b.categorical("visit_channel", s, "acquisition_channel", web_rows)
    for j, name in enumerate(names):
        b.profile[f"channel_share:{name}"] = _share(channels[:, j], channels.sum(axis=1))
    b.count("web_visit_channels", s, "acquisition_channel", web_rows)
    visits = per_customer(rows, b.n)

    devices = b.rows(p.devices)
    b.categorical("device_type", p.devices, "device_type", devices)
    b.categorical("platform", p.devices, "platform", devices)
    kinds = s.names["device_type"]
    on_type = count_matrix(rows, s.arrays["device_type"], b.n, len(kinds))
    for name in b.vocabulary["device_type"]:
        column = np.flatnonzero(kinds == name)
        on = on_type[:, column[0]] if len(column) else np.zeros(b.n)
        b.profile[f"device_share:{name}"] = _share(on, visits)
    b.profile["app_share"] = _share(per_customer(np.where(on_app, rows, -1), b.n), visits)

    pages = per_customer(b.rows(p.clicks), b.n)
    b.blocks.append(Rate("visits", visits, weeks))
    b.blocks.append(Rate("pages_per_visit", pages, np.maximum(visits, 1e-9)))
    b.profile["visits_per_week"] = visits / weeks
    b.profile["events_per_visit"] = _share(pages, visits)
    return visits


def _orders(b: _Builder, p: PreparedFrames, weeks: np.ndarray) -> None:
    e = p.events
    rows = b.rows(e, e.arrays["is_conversion"])
    orders = per_customer(rows, b.n)
    revenue = per_customer(rows, b.n, np.nan_to_num(e.arrays["revenue"]))
    b.blocks.append(Rate("orders", orders, weeks))
    b.profile["orders_per_30_days"] = orders / weeks * 30 / 7
    b.profile["revenue_per_order"] = _share(revenue, orders)


def _support(b: _Builder, p: PreparedFrames, weeks: np.ndarray) -> None:
    m = p.messages
    rows = b.rows(m)
    contacts = per_customer(rows, b.n)
    complaints = per_customer(np.where(m.arrays["complaint"], rows, -1), b.n)
    b.blocks.append(Rate("support_contacts", contacts, weeks))
    b.blocks.append(Rate("billing_complaints", complaints, weeks))
    b.profile["support_contacts_per_30_days"] = contacts / weeks * 30 / 7
    b.profile["billing_complaints_per_30_days"] = complaints / weeks * 30 / 7
    b.count("support_topics", m, "topic", rows)


def _email(b: _Builder, p: PreparedFrames) -> None:
    e = p.events
    delivered = per_customer(b.rows(e, _is(e, "canonical_event", EMAIL_DELIVERED)), b.n)
    opened = per_customer(b.rows(e, _is(e, "canonical_event", EMAIL_OPENED)), b.n)
    opened = np.minimum(opened, delivered)
    b.blocks.append(Proportion("email_opens", opened, delivered))
    b.profile["email_open_rate"] = _share(opened, delivered)


def _consideration(
    b: _Builder,
    p: PreparedFrames,
    signup: np.ndarray,
    first_seen: np.ndarray,
    observed: np.ndarray,
) -> None:
    s = p.sessions
    signed_up = np.full(len(p.customers), NOT_A_TIME, dtype=np.int64)
    signed_up[b.positions >= 0] = signup
    visits_before = per_customer(b.rows(s, s.time < signed_up[s.customer]), b.n)
    days = (signup - first_seen) / DAY_NS
    b.blocks.append(
        Rate("visits_before_signup", visits_before, np.ones(b.n), mask=observed.astype(float))
    )
    # + 0.01 day: a sign-up in the first visit is a very short wait, not no wait at all.
    b.blocks.append(Duration("days_to_signup", np.where(observed, days + 0.01, np.nan)))
    b.profile["visits_before_signup"] = np.where(observed, visits_before, np.nan)
    b.profile["days_to_signup"] = np.where(observed, days, np.nan)


def _plans(b: _Builder, p: PreparedFrames) -> None:
    plans, _ = b.categorical("plan", p.subscriptions, "plan", b.rows(p.subscriptions))
    b.profile["subscriber_share"] = (plans.sum(axis=1) > 0).astype(float)


def _reviews(b: _Builder, p: PreparedFrames) -> None:
    r = p.reviews
    score = r.arrays["score"]
    for text_type, name in (("review", "review_score"), ("nps", "nps_score")):
        rows = b.rows(r, _is(r, "text_type", text_type) & np.isfinite(score))
        mean = _share(per_customer(rows, b.n, np.nan_to_num(score)), per_customer(rows, b.n))
        b.blocks.append(Score(name, mean, resolution=1.0))  # whole stars, whole NPS points
        b.profile[name] = mean


def _text_labels(b: _Builder, labels: Coded) -> None:
    rows = b.rows(labels)
    for column, block in (("intent", "intents"), ("sentiment", "sentiments")):
        if column not in labels.arrays:
            continue
        counts, names = b.categorical(block, labels, column, rows)
        total = counts.sum(axis=1)
        for j, kind in enumerate(names):
            b.profile[f"{column}_share:{kind}"] = _share(counts[:, j], total)
    for column, name in (("intent", "intents"), ("emotion", "emotions")):
        if column in labels.arrays:
            b.count(name, labels, column, rows)
