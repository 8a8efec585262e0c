"""The embedded text model, its corpus, masking, incremental labelling, friction themes and
classify-text, on frames (no warehouse)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from random import Random

import pandas as pd
import pytest

from journeymap.ml.text import labels
from journeymap.ml.text.classify import OUTPUT_COLUMNS, classify_file
from journeymap.ml.text.corpus import load_corpus, split_corpus
from journeymap.ml.text.embedded import embedded_model, evaluate_embedded
from journeymap.ml.text.labelling import EmbeddedBackend, label_texts
from journeymap.ml.text.normalise import prepare_text
from journeymap.ml.text.themes import friction_themes, theme_summary
from journeymap.privacy import luhn_valid, mask_text
from journeymap.text_noise import sloppy, typo

ROOT = Path(__file__).resolve().parents[2]


# --- masking -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("write to Jane.Doe+cx@mail.example.co.uk today", "write to [email] today"),
        ("call +1 555 010 2030 or (555) 010-2030", "call [phone] or [phone]"),
        ("UK mobile 07700 900123.", "UK mobile [phone]."),
        ("card 4111 1111 1111 1111 was declined", "card [card] was declined"),
        ("card 5500-0000-0000-0004 too", "card [card] too"),
        ("paid $249.00 on 2026-10-31 for 3 items", "paid $249.00 on 2026-10-31 for 3 items"),
        ("order O-3f9a12345678 and order 12345", "order O-3f9a12345678 and order 12345"),
    ],
)
def test_mask_text_hides_emails_phones_and_cards(text, masked):
    assert mask_text(text) == masked
    assert mask_text(masked) == masked  # idempotent


def test_luhn_tells_card_numbers_from_other_long_numbers():
    assert luhn_valid("4111111111111111") and luhn_valid("5500000000000004")
    assert not luhn_valid("4111111111111112")


# --- corpus and typing slips ----------------------------------------------------------------------
def test_corpus_covers_every_label_and_is_varied():
    corpus = load_corpus()
    assert len(corpus) >= 450
    for column, values in labels.LABEL_SETS.items():
        counts = corpus[column].value_counts()
        assert set(counts.index) == set(values), column
        assert counts.min() >= 20 if column != "journey_stage" else counts.min() >= 30
    words = corpus["text"].str.split().str.len()
    assert words.min() <= 2 and words.max() >= 40  # short and long
    assert (corpus["text"] == corpus["text"].str.lower()).sum() >= 50  # no capitals
    split = split_corpus(corpus)
    assert 0.18 < len(split.held_out) / len(corpus) < 0.32
    assert set(split.held_out["text"]).isdisjoint(split.train["text"])


def test_emotion_columns_of_the_marts_follow_the_label_set():
    macro = (ROOT / "macros" / "text_labels.sql").read_text()
    listed = re.findall(r'"(\w+)"', macro.split("return(")[1])
    assert tuple(listed) == labels.EMOTIONS


def test_typing_slips_are_seeded_and_keep_words():
    text = "Please refund the duplicate charge on my account"
    assert typo(Random(1).random, text) == typo(Random(1).random, text)
    slipped = typo(Random(2).random, text)
    assert slipped != text and len(slipped.split()) == len(text.split())
    assert sloppy(Random(3).random, "Done.", 0, 1, 1) == "done"


def test_transcript_markup_is_not_part_of_the_text():
    assert prepare_text("[call transcript] Customer: Um, hi.  My order") == "Um, hi. My order"
    assert prepare_text(None) == ""


# --- the embedded model --------------------------------------------------------------------------
def test_embedded_model_reads_the_issues_examples():
    got = embedded_model().label(
        [
            "I was charged twice this month",
            "where is my parcel",
            "told my whole team to switch to you",
            "I'm comparing your plan with another company's, which one is cheaper?",
        ]
    )
    assert got["intent"].tolist()[:3] == ["billing_payment", "order_status", "praise_feedback"]
    assert got["journey_stage"].tolist() == ["retention", "purchase", "advocacy", "consideration"]
    assert got["sentiment"].iloc[0] < labels.NEGATIVE_BELOW < 0 < labels.POSITIVE_ABOVE
    assert got["sentiment"].iloc[2] > labels.POSITIVE_ABOVE
    confidences = got[[c for c in got.columns if c.endswith("_confidence")]]
    assert ((confidences >= 0) & (confidences <= 1)).all().all()
    # The polarity read off the sentiment is the model's most probable one.
    assert got["sentiment_confidence"].min() >= 1 / 3


def test_held_out_figures_beat_their_baselines():
    figures = evaluate_embedded()
    base = figures["baselines"]
    assert figures["texts"] >= 90
    assert figures["intent_macro_f1"] >= 0.5 > base["intent_macro_f1_majority"] + 0.3
    assert figures["stage_macro_f1"] >= 0.4 > base["stage_macro_f1_majority"]
    assert figures["emotion_macro_f1"] >= 0.35 > base["emotion_macro_f1_majority"]
    polarity_f1 = figures["sentiment_polarity_macro_f1"]
    assert polarity_f1 >= 0.6 and polarity_f1 > base["sentiment_polarity_macro_f1_vader"]


def test_identical_texts_get_identical_labels_in_any_order():
    model = embedded_model()
    texts = ["refund please", "app crashes", "refund please", "thanks!"]
    got = model.label(texts)
    assert got.iloc[0].equals(got.iloc[2])
    reversed_ = model.label(texts[::-1]).iloc[::-1].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, reversed_)


# --- incremental labelling -----------------------------------------------------------------------
def _texts(bodies: list[str]) -> pd.DataFrame:
    n = len(bodies)
    return pd.DataFrame(
        {
            "text_key": [f"k{i}" for i in range(n)],
            "source": "support_messages",
            "source_text_id": [f"m{i}" for i in range(n)],
            "customer_key": [f"c{i % 2}" for i in range(n)],
            "occurred_at": pd.Timestamp("2026-10-01"),
            "channel": "support",
            "body": bodies,
        }
    )


class CountingBackend(EmbeddedBackend):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def label(self, texts):
        self.seen.extend(texts)
        return super().label(texts)


def test_labelling_is_incremental_and_refreshes_metadata():
    backend = CountingBackend()
    first = label_texts(_texts(["where is my parcel", "I was charged twice"]), None, backend)
    assert first.labelled_now == 2 and list(first.labels["polarity"]) == ["negative"] * 2
    texts = _texts(["where is my parcel", "I was charged twice", "love it!"])
    texts.loc[0, "customer_key"] = "c9"  # re-stitched to another customer
    texts.loc[1, "body"] = "I was charged three times"  # edited
    second = label_texts(texts, first.labels, backend)
    assert second.reused == 1 and second.labelled_now == 2
    assert backend.seen[2:] == ["I was charged three times", "love it!"]
    assert second.labels.set_index("source_text_id").at["m0", "customer_key"] == "c9"
    assert second.labels["labelled_at"].iloc[0] == first.labels["labelled_at"].iloc[0]
    # A text gone from the mart is gone from the labels.
    third = label_texts(texts.iloc[1:], second.labels, backend)
    assert third.reused == 2 and third.labelled_now == 0 and len(third.labels) == 2


def test_a_new_model_version_relabels_everything():
    backend = EmbeddedBackend()
    first = label_texts(_texts(["hello", "refund?"]), None, backend)
    stale = first.labels.assign(model_version="text-embedded-v0")
    assert label_texts(_texts(["hello", "refund?"]), stale, backend).labelled_now == 2


# --- friction themes -----------------------------------------------------------------------------
def test_themes_group_negative_texts_of_a_stage_and_mask_examples():
    rng = Random(4)
    payment = [
        "payment failed on my phone at checkout",
        "the payment button in the app fails on my phone",
        "checkout payment keeps failing on my phone",
    ]
    parcel = ["my parcel is late and tracking is stuck", "parcel arrived crushed and late"]
    bodies = [rng.choice(payment) + f" call me on +1 555 010 {1000 + i}" for i in range(30)]
    bodies += [rng.choice(parcel) for _ in range(20)] + ["all good thanks"] * 10
    frame = pd.DataFrame(
        {
            "source": "support_messages",
            "source_text_id": [f"m{i:03d}" for i in range(60)],
            "journey_stage": "purchase",
            "sentiment": [-0.8] * 50 + [0.8] * 10,
            "body": bodies,
        }
    )
    themes = friction_themes(frame)
    assert len(themes) == 50  # only negative texts
    # Two problems, at least three themes: a problem may take two themes (one per wording),
    # but no theme mixes the two problems.
    is_payment = themes["masked_text"].str.contains("pay")
    assert is_payment.groupby(themes["theme_id"]).mean().isin([0.0, 1.0]).all()
    summary = theme_summary(themes)
    top = summary.iloc[0]
    assert top["theme_rank"] == 1 and top["texts"] >= 15
    payment_labels = " ".join(themes.loc[is_payment, "theme_label"].unique())
    assert re.search(r"payment|phone|pay|checkout|fail", payment_labels)
    assert not themes["masked_text"].str.contains("555 010").any()
    assert themes["masked_text"].str.contains(r"\[phone\]").sum() == 30
    assert themes["theme_weight"].between(0, 1).all()


def test_no_themes_for_a_stage_with_few_negative_texts():
    frame = pd.DataFrame(
        {
            "source": "reviews",
            "source_text_id": ["r1", "r2"],
            "journey_stage": "advocacy",
            "sentiment": [-0.9, -0.9],
            "body": ["awful", "broken"],
        }
    )
    assert friction_themes(frame).empty


# --- classify-text -------------------------------------------------------------------------------
def test_classify_file_keeps_rows_and_order(tmp_path, capsys):
    source = tmp_path / "in.csv"
    pd.DataFrame(
        {"id": [1, 2, 3], "text": ["where is my parcel", "", "love it, telling all my friends"]}
    ).to_csv(source, index=False)
    target = tmp_path / "out.csv"
    assert classify_file(source, "text", target, EmbeddedBackend()) == 3
    out = pd.read_csv(target)
    assert out["id"].tolist() == [1, 2, 3]
    assert list(out.columns) == ["id", "text", *OUTPUT_COLUMNS]
    assert out["intent"].iloc[0] == "order_status" and pd.isna(out["intent"].iloc[1])
    assert out["journey_stage"].iloc[2] == "advocacy"
    with pytest.raises(ValueError, match="no column 'body'"):
        classify_file(source, "body", target, EmbeddedBackend())


def test_cli_prints_json_for_one_text(capsys):
    from journeymap.cli import main

    assert main(["classify-text", "I was charged twice this month"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["intent"] == "billing_payment" and printed["backend"] == "embedded"
    assert -1 <= printed["sentiment"] < 0
    assert main(["classify-text"]) == 1  # neither a text nor a file


def test_theme_labels_do_not_repeat_words():
    from journeymap.ml.text.themes import readable_terms

    ranked = ["phone", "step", "payment step", "payment", "checkout", "phone checkout", "app"]
    assert readable_terms(ranked, 3) == ["phone", "step", "payment"]
    assert readable_terms(["payment step", "step", "phone"], 2) == ["payment step", "phone"]
