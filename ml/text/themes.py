"""Friction themes: what the negative texts of each journey stage are about.

Per journey stage (the stage each text shows), the negative texts (sentiment below
``labels.NEGATIVE_BELOW``) are masked (``journeymap.privacy.mask_text``), turned into
TF-IDF vectors of words and word pairs (English stop words, customer-service pleasantries
and terms in more than 80% of the stage's texts left out) and factorised with non-negative
matrix factorisation (NMF; Lee and Seung 1999, the usual topic model for short texts, with the
deterministic NNDSVDa start). A stage with ``n`` negative texts gets ``round(n /
TEXTS_PER_THEME)`` themes, at least 2 and at most ``MAX_THEMES``; a stage with fewer than
``MIN_TEXTS`` gets none. Each text joins the theme of its largest weight; its
``theme_weight`` is that weight's share of its weights. A theme's label is its three
heaviest terms (each word once), its ``theme_terms`` the top eight, and its rank is its size
in the stage (1 = most texts). The figures per theme (trend, outcomes) are SQL in the enriched
layer.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from journeymap.ml.outputs import TEXT_THEMES, write_output
from journeymap.ml.text.labels import NEGATIVE_BELOW, STAGES
from journeymap.ml.text.normalise import prepare_text
from journeymap.privacy import mask_text
from journeymap.warehouse import Warehouse

MODEL_VERSION = "themes-nmf-v1"
TEXTS_PER_THEME = 40
MIN_TEXTS = 10
MAX_THEMES = 8
LABEL_TERMS, LISTED_TERMS = 3, 8
# Words of every support conversation: they tell nothing about what went wrong.
PLEASANTRIES = frozenset(
    [
        "hi",
        "hello",
        "hey",
        "dear",
        "team",
        "support",
        "thanks",
        "thank",
        "thx",
        "cheers",
        "regards",
        "best",
        "wishes",
        "please",
        "advance",
        "sorry",
        "um",
        "yeah",
        "yes",
        "ok",
        "okay",
        "just",
        "really",
        "honestly",
        "today",
        "got",
        "get",
        "im",
        "ive",
        "dont",
        "email",
    ]
)
STOP_WORDS = sorted(ENGLISH_STOP_WORDS | PLEASANTRIES)
_TOKENS = r"(?u)\b[a-z][a-z']{2,}\b"
# The masking placeholders are not words of the customer ("[phone]" is not about phones).
_PLACEHOLDERS = re.compile(r"\[(?:email|phone|card)\]")


def readable_terms(ranked: list[str], k: int) -> list[str]:
    """The first ``k`` of the ``ranked`` terms, each word once: a term sharing a word with a
    term already chosen is skipped ("payment step" after "step")."""
    chosen: list[str] = []
    used: set[str] = set()
    for term in ranked:
        words = set(term.split())
        if words & used:
            continue
        chosen.append(term)
        used |= words
        if len(chosen) == k:
            break
    return chosen


def _stage_themes(stage: str, texts: pd.DataFrame) -> pd.DataFrame:
    docs = [_PLACEHOLDERS.sub(" ", prepare_text(t)).lower() for t in texts["masked_text"]]
    vectorizer = TfidfVectorizer(
        stop_words=STOP_WORDS,
        token_pattern=_TOKENS,
        ngram_range=(1, 2),
        min_df=2,
        max_df=0.8,
        sublinear_tf=True,
    )
    try:
        matrix = vectorizer.fit_transform(docs)
    except ValueError:  # no term left (e.g. every text is one word)
        return pd.DataFrame()
    k = int(min(MAX_THEMES, max(2, round(len(docs) / TEXTS_PER_THEME)), matrix.shape[1]))
    nmf = NMF(n_components=k, init="nndsvda", random_state=0, max_iter=500)
    weights = nmf.fit_transform(matrix)
    terms = np.array(vectorizer.get_feature_names_out())
    assigned = weights.argmax(axis=1)
    total = weights.sum(axis=1)
    share = np.divide(weights.max(axis=1), total, out=np.zeros(len(docs)), where=total > 0)
    sizes = pd.Series(assigned[total > 0]).value_counts()
    order = {theme: rank for rank, theme in enumerate(sizes.index, start=1)}
    rows = []
    for i, theme in enumerate(assigned):
        if total[i] <= 0 or theme not in order:  # no known term at all: no theme
            continue
        ranked = list(terms[np.argsort(nmf.components_[theme])[::-1][: 4 * LISTED_TERMS]])
        top = readable_terms(ranked, LISTED_TERMS)
        rows.append(
            {
                "source": texts["source"].iat[i],
                "source_text_id": texts["source_text_id"].iat[i],
                "journey_stage": stage,
                "theme_id": f"{stage}-{order[theme]:02d}",
                "theme_rank": order[theme],
                "theme_label": " · ".join(top[:LABEL_TERMS]),
                "theme_terms": ", ".join(top),
                "theme_weight": float(share[i]),
                "masked_text": texts["masked_text"].iat[i],
            }
        )
    return pd.DataFrame(rows)


def friction_themes(labelled: pd.DataFrame, now: datetime | None = None) -> pd.DataFrame:
    """ml.text_themes from labelled texts (source, source_text_id, journey_stage, sentiment,
    body): one row per negative text that joined a theme."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    negative = labelled[labelled["sentiment"] < NEGATIVE_BELOW].copy()
    negative["masked_text"] = negative["body"].map(lambda t: mask_text(prepare_text(t)))
    negative = negative.sort_values(["source", "source_text_id"])
    parts = []
    for stage in STAGES:
        texts = negative[negative["journey_stage"] == stage].reset_index(drop=True)
        if len(texts) >= MIN_TEXTS:
            parts.append(_stage_themes(stage, texts))
    parts = [p for p in parts if len(p)]
    if not parts:
        return TEXT_THEMES.empty()
    themes = pd.concat(parts, ignore_index=True)
    themes["model_version"] = MODEL_VERSION
    themes["built_at"] = now
    return TEXT_THEMES.conform(themes)


def theme_summary(themes: pd.DataFrame) -> pd.DataFrame:
    """One row per theme: stage, rank, label and texts (for logs and metadata)."""
    columns = ["journey_stage", "theme_rank", "theme_id", "theme_label"]
    if themes.empty:
        return pd.DataFrame(columns=[*columns, "texts"])
    summary = themes.groupby(columns).size().rename("texts").reset_index()
    return summary.sort_values(["journey_stage", "theme_rank"]).reset_index(drop=True)


def run_friction_themes(warehouse: Warehouse, marts: str = "marts", ml: str = "ml") -> pd.DataFrame:
    """Read the labels and texts, build the themes and replace ml.text_themes."""
    frame = warehouse.query_df(
        f"""
        select labels.source, labels.source_text_id, labels.journey_stage, labels.sentiment,
            texts.body
        from {ml}.text_labels as labels
        inner join {marts}.fct_customer_texts as texts
            on labels.source = texts.source and labels.source_text_id = texts.source_text_id
        """
    )
    frame.columns = [str(c).lower() for c in frame.columns]
    themes = friction_themes(frame)
    write_output(warehouse, TEXT_THEMES, themes, schema=ml)
    return themes
