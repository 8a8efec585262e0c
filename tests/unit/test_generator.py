"""The sample-data generator: determinism, the raw contract, planted defects and truths.

Files are read back with the csv module only (never through generator code), so these tests
check what the warehouse will actually see.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from journeymap.contract import SOURCES
from journeymap.generator import GenerationSummary, generate
from journeymap.generator.schema import NOT_WRITTEN

END = date(2026, 10, 31)
SMALL = {"customers": 300, "days": 20, "end_date": END, "seed": 7, "defect_rate": 0.02}
BIG = {"customers": 3000, "days": 60, "end_date": END, "seed": 11, "defect_rate": 0.005}
FUNNEL_NAMES = ("Product Viewed", "Product Added", "Checkout Started", "Payment Info Entered")
EVENT_NAMES = {
    "Home Page Viewed",
    "Blog Post Viewed",
    "Landing Page Viewed",
    "Application Installed",
    "Pricing Viewed",
    "Product Viewed",
    "Products Compared",
    "Signed Up",
    "Demo Requested",
    "Product Added",
    "Checkout Started",
    "Payment Info Entered",
    "Logged In",
    "Feature Used",
    "Help Center Viewed",
    "Application Opened",
    "Account Settings Viewed",
    "Referral Sent",
    "Review Prompt Clicked",
}
APP_ONLY = {"Application Installed", "Application Opened"}

Row = dict[str, str]


# --- reading the output back ---------------------------------------------------------------
class Output:
    """One generated data set, parsed on demand: rows per source with file and row number."""

    def __init__(self, out_dir: Path, summary: GenerationSummary) -> None:
        self.dir = out_dir
        self.summary = summary
        self.truth = json.loads((out_dir / "ground_truth" / "truth.json").read_text())
        self.defects = _read_csv(out_dir / "ground_truth" / "defects.csv")
        self.defect_at = {(d["file_name"], int(d["row_number"])): d for d in self.defects}
        self.rows = _LazyRows(out_dir / "landing")

    def genuine(self, source: str) -> list[Row]:
        return [r for f, n, r in self.rows[source] if (f, n) not in self.defect_at]

    def ground_truth(self, name: str) -> list[Row]:
        return _read_csv(self.dir / "ground_truth" / name)


class _LazyRows(dict[str, list[tuple[str, int, Row]]]):
    def __init__(self, landing: Path) -> None:
        super().__init__()
        self.landing = landing

    def __missing__(self, source: str) -> list[tuple[str, int, Row]]:
        located = [
            (path.name, n, row)
            for path in sorted((self.landing / source).glob("*.csv"))
            for n, row in enumerate(_read_csv(path), start=1)
        ]
        self[source] = located
        return located


def _read_csv(path: Path) -> list[Row]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _ts(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.csv"))} | {
        "truth.json": (root / "ground_truth" / "truth.json").read_bytes()
    }


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Output:
    out = tmp_path_factory.mktemp("small")
    return Output(out, generate(out, chunk_customers=1000, **SMALL))


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Output:
    out = tmp_path_factory.mktemp("big")
    return Output(out, generate(out, **BIG))


# --- determinism ------------------------------------------------------------------------------
def test_same_seed_gives_byte_identical_files(small: Output, tmp_path: Path) -> None:
    generate(tmp_path, chunk_customers=1000, **SMALL)
    assert _files(tmp_path) == _files(small.dir)


def test_chunk_size_does_not_change_a_byte(small: Output, tmp_path: Path) -> None:
    generate(tmp_path, chunk_customers=50, **SMALL)
    assert _files(tmp_path) == _files(small.dir)


def test_another_seed_gives_other_data(small: Output, tmp_path: Path) -> None:
    generate(tmp_path, **{**SMALL, "seed": 8})
    assert _files(tmp_path) != _files(small.dir)


def test_genuine_rows_do_not_depend_on_the_defect_rate(small: Output, tmp_path: Path) -> None:
    clean = Output(tmp_path, generate(tmp_path, **{**SMALL, "defect_rate": 0.0}))
    assert clean.defects == []
    for source in SOURCES:
        assert clean.genuine(source) == small.genuine(source), source


# --- the raw contract ---------------------------------------------------------------------------
def test_one_file_per_source_and_day_with_the_contract_header(small: Output) -> None:
    days = [END - timedelta(days=d) for d in range(SMALL["days"])]
    for name, source in SOURCES.items():
        paths = sorted((small.dir / "landing" / name).glob("*.csv"))
        assert [p.name for p in paths] == sorted(f"{name}_{d.isoformat()}.csv" for d in days)
        for path in paths:
            with path.open(newline="", encoding="utf-8") as f:
                written = tuple(c for c in source.column_names if c not in NOT_WRITTEN)
                assert tuple(next(csv.reader(f))) == written, path.name


def test_rows_per_source_match_truth_and_summary(small: Output) -> None:
    counted = {name: len(small.rows[name]) for name in SOURCES}
    assert small.truth["rows"] == counted
    assert small.summary.rows == counted
    for name in SOURCES:
        assert small.truth["genuine_rows"][name] + small.truth["defect_rows"][name] == counted[name]
    assert sum(small.truth["defects"].values()) == len(small.defects)
    assert small.summary.defects == small.truth["defects"]
    assert all(counted[name] > 0 for name in SOURCES)


def _parses(kind: str, value: str) -> bool:
    try:
        if kind == "timestamp":
            _ts(value)
        elif kind == "double":
            float(value)
        elif kind == "integer":
            int(value)
        elif kind == "boolean":
            return value in ("true", "false")
        elif kind == "json":
            return isinstance(json.loads(value), dict)
    except ValueError:
        return False
    return True


def test_genuine_rows_satisfy_the_contract_inside_the_window(small: Output) -> None:
    first = datetime.combine(END - timedelta(days=SMALL["days"] - 1), datetime.min.time(), UTC)
    last = datetime.combine(END, datetime.max.time(), UTC)
    for name, source in SOURCES.items():
        for file_name, n, row in small.rows[name]:
            if (file_name, n) in small.defect_at:
                continue
            for col in source.columns:
                value = row.get(col.name)  # NOT_WRITTEN columns are absent
                assert value or not col.required, (name, col.name, row)
                if value:
                    assert _parses(col.type, value), (name, col.name, value)
                    assert col.allowed is None or value in col.allowed, (name, col.name, value)
            when = _ts(row[source.event_time])
            assert first <= when <= last, (name, row)
            assert file_name.endswith(f"_{when.date().isoformat()}.csv"), (file_name, row)
            for col in source.columns:  # other times too (a contact's creation may be older)
                if col.type == "timestamp" and row.get(col.name) and col.name != "created_at":
                    assert first <= _ts(row[col.name]) <= last, (name, col.name, row)


def test_keys_are_unique_among_genuine_rows(small: Output) -> None:
    for name, source in SOURCES.items():
        keys = [tuple(r[k] for k in source.key) for r in small.genuine(name)]
        assert len(keys) == len(set(keys)), name


# --- planted defects --------------------------------------------------------------------------
def test_every_defect_points_at_a_row_of_its_type(small: Output) -> None:
    seen: Counter[str] = Counter()
    genuine_keys = {
        name: {tuple(r[k] for k in source.key) for r in small.genuine(name)}
        for name, source in SOURCES.items()
    }
    for d in small.defects:
        source = SOURCES[d["source"]]
        located = small.rows[d["source"]]
        index = next(
            i
            for i, (f, n, _) in enumerate(located)
            if f == d["file_name"] and n == int(d["row_number"])
        )
        row = located[index][2]
        key = source.key[0]
        assert d["record_key"] == "|".join(row[k] for k in source.key)
        kind = d["defect_type"]
        seen[kind] += 1
        if kind == "missing_required":
            assert row[key] == ""
        elif kind == "unparseable_timestamp":
            assert not _parses("timestamp", row[source.event_time])
        elif kind == "future_timestamp":
            assert row[source.event_time].startswith("2099-")
            assert _parses("timestamp", row[source.event_time])
            month_day = row[source.event_time][5:10]
            assert d["file_name"].endswith(f"-{month_day}.csv") or month_day == "02-28"
        elif kind == "invalid_value":
            assert any(c.allowed and row[c.name] not in c.allowed for c in source.columns)
        elif kind == "duplicate":
            earlier = [r for _, _, r in located[:index]]
            assert row in earlier
        elif kind == "unknown_event":
            assert d["source"] in ("web_events", "app_events")
            assert row["event_name"] not in EVENT_NAMES
        else:
            pytest.fail(f"unexpected defect type {kind}")
        if kind != "duplicate":  # a fresh key: never mistaken for a duplicate of its original
            assert tuple(row[k] for k in source.key) not in genuine_keys[d["source"]]
    assert {"missing_required", "duplicate", "future_timestamp"} <= set(seen)
    expected = {"duplicate": "deduplicated", "unknown_event": "unmapped"}
    for d in small.defects:
        want = expected.get(d["defect_type"], f"quarantine:{d['defect_type']}")
        assert d["expected_outcome"] == want


# --- the simulated business ------------------------------------------------------------------
def test_event_names_follow_the_taxonomy(small: Output) -> None:
    for name in ("web_events", "app_events"):
        names = Counter(r["event_name"] for r in small.genuine(name))
        assert set(names) <= EVENT_NAMES
        assert "Order Completed" not in names
        if name == "web_events":
            assert not set(names) & APP_ONLY
            assert all(
                r["page_url"].startswith("https://shop.example.com") for r in small.genuine(name)
            )
        else:
            assert all(r["page_url"] == "" for r in small.genuine(name))
            assert {r["device_type"] for r in small.genuine(name)} <= {"mobile", "tablet"}


def test_sessions_have_1_to_15_events_and_30_minute_gaps(small: Output) -> None:
    times: dict[str, list[datetime]] = defaultdict(list)
    for name in ("web_events", "app_events"):
        for r in small.genuine(name):
            times[r["anonymous_id"]].append(_ts(r["occurred_at"]))
    sizes: Counter[int] = Counter()
    for stamps in times.values():
        stamps.sort()
        size = 1
        for a, b in zip(stamps, stamps[1:], strict=False):
            gap = (b - a).total_seconds()
            assert 5 <= gap <= 600 or gap > 1800, gap
            if gap > 1800:
                sizes[size] += 1
                size = 0
            size += 1
        sizes[size] += 1
    assert min(sizes) >= 1 and max(sizes) <= 15
    assert len(sizes) > 8  # short and long sessions both happen


def test_campaigns_and_email_driven_sessions(small: Output) -> None:
    pattern = re.compile(r"^(newsletter_\d{6}|offer_\d{6}|promo_\d{6}|winback_\d{6}|welcome)$")
    emails = small.genuine("email_events")
    assert all(pattern.match(r["campaign_id"]) for r in emails)
    kinds = Counter(r["event_type"] for r in emails)
    assert kinds["sent"] > kinds["delivered"] > kinds["open"] > kinds["click"] > 0
    clicked = {r["campaign_id"] for r in emails if r["event_type"] == "click"}
    email_visits = [
        r
        for name in ("web_events", "app_events")
        for r in small.genuine(name)
        if r["utm_medium"] == "email"
    ]
    assert email_visits
    assert all(
        r["utm_campaign"] in clicked or r["utm_campaign"].startswith("promo_") for r in email_visits
    )


def test_customer_devices_are_identified(small: Output) -> None:
    identified = {(r["anonymous_id"], r["user_id"]) for r in small.genuine("identifies")}
    customers = small.ground_truth("customers.csv")
    assert len(customers) == SMALL["customers"]
    for c in customers:
        for anon in filter(None, c["anonymous_ids"].split("|")):
            assert anon.startswith("a-") and len(anon) == 18
            assert (anon, c["customer_id"]) in identified
    known = {a for a, _ in identified}
    for name in ("web_events", "app_events"):
        for r in small.genuine(name):
            assert not r["user_id"] or r["anonymous_id"] in known


def test_emails_sometimes_need_normalising(small: Output) -> None:
    crm = {r["email"] for r in small.genuine("crm_contacts")}
    emails = [r["email"] for r in small.genuine("email_events")]
    assert all(e.strip().lower() in crm for e in emails)
    odd = sum(e != e.strip().lower() for e in emails) / len(emails)
    assert 0.08 < odd < 0.25


def test_every_customer_text_has_its_label_truth(small: Output) -> None:
    """texts.csv labels every customer-written support message and review/NPS text once, with
    values of the text model's label sets."""
    from journeymap.ml.text.labels import EMOTIONS, INTENTS, STAGES

    truth = small.ground_truth("texts.csv")
    by_source: dict[str, set[str]] = defaultdict(set)
    for m in truth:
        by_source[m["source"]].add(m["text_id"])
    assert len(truth) == sum(len(ids) for ids in by_source.values())  # one row per text
    customer_messages = {
        r["message_id"] for r in small.genuine("support_messages") if r["author_type"] == "customer"
    }
    assert by_source["support_messages"] == customer_messages
    assert by_source["reviews"] == {r["review_id"] for r in small.genuine("reviews") if r["body"]}
    for m in truth:
        assert m["sentiment"] in ("negative", "neutral", "positive")
        assert m["intent"] in INTENTS and m["journey_stage"] in STAGES
        assert m["emotion"] in EMOTIONS
    # Varied: many intents, every stage but awareness, every emotion.
    assert len({m["intent"] for m in truth}) >= 7
    assert {m["journey_stage"] for m in truth} >= {
        "consideration",
        "purchase",
        "retention",
        "advocacy",
    }
    assert len({m["emotion"] for m in truth}) == len(EMOTIONS)


def test_texts_are_varied_and_typed_imperfectly(small: Output) -> None:
    bodies = [
        r["body"] for r in small.genuine("support_messages") if r["author_type"] == "customer"
    ]
    assert len(set(bodies)) >= 0.5 * len(bodies)  # slots, phrasings and slips vary them
    lower = sum(b == b.lower() for b in bodies) / len(bodies)
    assert 0.05 < lower < 0.4


def test_generator_wording_is_not_the_text_models_corpus() -> None:
    """The embedded model is judged on the generator's texts: they must not be its corpus."""
    from journeymap.generator.wording import MOBILE_PAYMENT_FAILURES, NPS, PHRASINGS, REVIEWS
    from journeymap.ml.text.corpus import load_corpus

    pools = [*PHRASINGS.values(), MOBILE_PAYMENT_FAILURES, *REVIEWS.values(), *NPS.values()]
    phrasings = {p.text.lower().rstrip(".!?") for pool in pools for p in pool}
    corpus = {t.lower().rstrip(".!?") for t in load_corpus()["text"]}
    assert phrasings.isdisjoint(corpus)


def test_wording_does_not_change_behaviour(tmp_path: Path) -> None:
    """Wording and the friction theme draw from the text stream: without them, every order,
    subscription and CRM row is the same (only text bodies, and defect rows, may move)."""
    from unittest import mock

    from journeymap.generator import friction

    plain, themed = tmp_path / "plain", tmp_path / "themed"
    with mock.patch.dict(friction.WRITES_IN, {"mobile": 0.0, "tablet": 0.0, "desktop": 0.0}):
        generate(plain, customers=150, days=30, seed=3, defect_rate=0.0)
    generate(themed, customers=150, days=30, seed=3, defect_rate=0.0)
    for source in ("orders", "subscriptions", "crm_contacts", "web_events", "app_events"):
        for path in sorted((plain / "landing" / source).glob("*.csv")):
            assert path.read_bytes() == (themed / "landing" / source / path.name).read_bytes()


# --- planted truths (a bigger run, so rates are stable) -----------------------------------
def _funnel_from_files(out: Output) -> dict[str, tuple[int, int]]:
    """checkout_started -> payment_info_entered by entry device, recomputed from the files."""
    owner = {r["anonymous_id"]: r["user_id"] for r in out.genuine("identifies")}
    events: dict[str, list[tuple[datetime, str, str]]] = defaultdict(list)
    for name in ("web_events", "app_events"):
        for r in out.genuine(name):
            who = owner.get(r["anonymous_id"])
            if who and r["event_name"] in FUNNEL_NAMES:
                events[who].append((_ts(r["occurred_at"]), r["event_name"], r["device_type"]))
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    window = timedelta(hours=out.truth["funnel"]["window_hours"])
    for evs in events.values():
        evs.sort()
        entry = next((e for e in evs if e[1] == FUNNEL_NAMES[0]), None)
        if entry is None:
            continue
        prev, reached = entry[0], 1
        for step in FUNNEL_NAMES[1:]:
            nxt = next((t for t, n, _ in evs if n == step and prev <= t <= entry[0] + window), None)
            if nxt is None:
                break
            prev, reached = nxt, reached + 1
        if reached >= 3:
            tally[entry[2]][0] += 1
            tally[entry[2]][1] += reached >= 4
    return {device: (a, b) for device, (a, b) in tally.items()}


def test_funnel_drop_off_is_planted_and_realized(big: Output) -> None:
    funnel = big.truth["funnel"]
    assert funnel["planted_rate"] == {"desktop": 0.8, "mobile": 0.48, "tablet": 0.8}
    recomputed = _funnel_from_files(big)
    for device, planted in funnel["planted_rate"].items():
        realized = funnel["realized"][device]
        assert recomputed[device] == (realized["entered"], realized["completed"]), device
        n = realized["entered"]
        assert n >= 80, device
        assert abs(realized["rate"] - planted) <= 4 * math.sqrt(planted * (1 - planted) / n)
    assert funnel["realized"]["mobile"]["rate"] < funnel["realized"]["desktop"]["rate"] - 0.15


def test_billing_complaints_drive_churn(big: Output) -> None:
    realized = big.truth["churn"]["realized"]
    assert realized["0"]["subscribers"] > 300 and realized["2+"]["subscribers"] > 30
    assert realized["2+"]["rate"] > 0.4
    assert realized["2+"]["rate"] > 4 * realized["0"]["rate"]
    customers = {c["customer_id"]: c for c in big.ground_truth("customers.csv")}
    cancelled = {r["customer_id"] for r in big.genuine("subscriptions") if r["cancelled_at"]}
    assert cancelled == {k for k, c in customers.items() if c["churned"] == "true"}
    driven = {k for k, c in customers.items() if c["churn_driven_by_billing"] == "true"}
    assert driven == {k for k in cancelled if int(customers[k]["billing_complaints"]) >= 2}


def test_billing_complaints_are_counted_from_support_messages(big: Output) -> None:
    labels = {m["text_id"]: m for m in big.ground_truth("texts.csv")}
    by_email = {r["email"]: r["customer_id"] for r in big.genuine("crm_contacts")}
    counted: Counter[str] = Counter()
    for r in big.genuine("support_messages"):
        label = labels.get(r["message_id"])
        if label and (label["topic"], label["sentiment"]) == ("billing", "negative"):
            counted[r["customer_id"] or by_email[r["email"].strip().lower()]] += 1
    for c in big.ground_truth("customers.csv"):
        assert int(c["billing_complaints"]) == counted[c["customer_id"]]


def test_friction_theme_is_planted(big: Output) -> None:
    """Customers whose payment failed write in about it; mostly on mobile, where the planted
    drop-off is."""
    planted = big.truth["friction_theme"]
    themed = [m for m in big.ground_truth("texts.csv") if m["theme"] == planted["theme"]]
    assert len(themed) == planted["texts"] >= 40
    assert {m["journey_stage"] for m in themed} == {planted["journey_stage"]}
    assert {m["sentiment"] for m in themed} == {"negative"}
    bodies = {
        r["message_id"]: r["body"].lower()
        for r in big.genuine("support_messages")
        if r["author_type"] == "customer"
    }
    on_phone = [m for m in themed if re.search(r"phone|mobile|app\b", bodies[m["text_id"]])]
    assert len(on_phone) >= 0.7 * len(themed)
