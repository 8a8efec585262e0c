"""The embedded text model: offline, trained in seconds on the shipped corpus.

Features (one matrix for every head): TF-IDF of word unigrams and bigrams, TF-IDF of
character 2-5-grams inside word boundaries (typos and word forms still share most of their
n-grams), and VADER's four lexicon scores (negative, neutral, positive, compound; Hutto and
Gilbert 2014, ``vaderSentiment``, whose lexicon ships inside the package).

Heads: one multinomial logistic regression each for intent, journey stage, emotion and
polarity (negative / neutral / positive, from the sign of the corpus sentiment), with class
weights balanced so rare classes count. A label's confidence is the predicted probability
of the chosen class. **Sentiment** is the expected polarity, P(positive) - P(negative), kept
inside the band of the most probable polarity (``SENTIMENT_BANDS``: below -0.25 when negative
is most probable, -0.25..0.25 when neutral, above 0.25 when positive); its confidence is the
probability of that polarity.

Fitted once per process (``embedded_model()``); ``evaluate_embedded()`` fits a second model
on the training part of the corpus only and reports macro-F1 on the held-out part beside
two baselines: the majority class, and (for polarity) VADER's compound score alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from journeymap.ml.text.corpus import corpus_digest, load_corpus, split_corpus
from journeymap.ml.text.labels import (
    EMOTIONS,
    INTENTS,
    NEGATIVE_BELOW,
    POLARITIES,
    POSITIVE_ABOVE,
    STAGES,
    polarity,
)

MODEL_NAME = "text-embedded-v1"
# Heads: label column -> its classes.
HEADS: dict[str, tuple[str, ...]] = {
    "intent": INTENTS,
    "journey_stage": STAGES,
    "emotion": EMOTIONS,
    "polarity": POLARITIES,
}
LABEL_COLUMNS = (
    "intent",
    "intent_confidence",
    "journey_stage",
    "journey_stage_confidence",
    "sentiment",
    "sentiment_confidence",
    "emotion",
    "emotion_confidence",
)
# Sentiment stays inside the band of the most probable polarity, so the polarity read off the
# number (labels.polarity) is always the model's most probable one.
SENTIMENT_BANDS = {
    "negative": (-1.0, NEGATIVE_BELOW - 0.01),
    "neutral": (NEGATIVE_BELOW, POSITIVE_ABOVE),
    "positive": (POSITIVE_ABOVE + 0.01, 1.0),
}
# Regularisation of the heads (inverse strength): TF-IDF rows are unit length, so a C around
# 10 lets a few telling n-grams decide, as text classifiers usually need. The SAGA solver
# (pure Cython) fits the four heads in about a second; L-BFGS took 30-60 s on a busy 2-core
# machine for the same held-out figures.
C = 10.0


def model_version() -> str:
    """The embedded model's version: its name and the corpus it learnt (first 8 of sha256)."""
    return f"{MODEL_NAME}+{corpus_digest()[:8]}"


def _clean(texts: Sequence[str | None]) -> list[str]:
    return ["" if t is None else str(t) for t in texts]


def corpus_polarity(sentiment: pd.Series) -> pd.Series:
    """A corpus sentiment (-1..1 on a five-point scale) as its class: the sign."""
    return pd.Series(
        np.select([sentiment < 0, sentiment > 0], ["negative", "positive"], "neutral"),
        index=sentiment.index,
    )


class TextFeatures:
    """Word and character TF-IDF plus VADER's lexicon scores, as one sparse matrix."""

    def __init__(self) -> None:
        self.words = TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode", min_df=1
        )
        self.chars = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2, max_features=60_000
        )
        self.vader = SentimentIntensityAnalyzer()

    def _lexicon(self, texts: list[str]) -> sparse.csr_matrix:
        scores = [self.vader.polarity_scores(t) for t in texts]
        dense = np.array(
            [[s["neg"], s["neu"], s["pos"], s["compound"]] for s in scores], dtype=np.float64
        )
        return sparse.csr_matrix(dense)

    def fit_transform(self, texts: list[str]) -> sparse.csr_matrix:
        return sparse.hstack(
            [self.words.fit_transform(texts), self.chars.fit_transform(texts), self._lexicon(texts)]
        ).tocsr()

    def transform(self, texts: list[str]) -> sparse.csr_matrix:
        return sparse.hstack(
            [self.words.transform(texts), self.chars.transform(texts), self._lexicon(texts)]
        ).tocsr()

    def compound(self, texts: list[str]) -> np.ndarray:
        return np.array([self.vader.polarity_scores(t)["compound"] for t in texts])


@dataclass
class EmbeddedModel:
    features: TextFeatures
    heads: dict[str, LogisticRegression]
    version: str = field(default_factory=model_version)

    def probabilities(self, texts: Sequence[str | None]) -> dict[str, pd.DataFrame]:
        """Per head, a frame of class probabilities (one column per class of the head)."""
        matrix = self.features.transform(_clean(texts))
        return {
            head: pd.DataFrame(model.predict_proba(matrix), columns=list(model.classes_))
            for head, model in self.heads.items()
        }

    def label(self, texts: Sequence[str | None]) -> pd.DataFrame:
        """``LABEL_COLUMNS`` for each text, in order. Each distinct text is labelled once."""
        texts = _clean(texts)
        codes, distinct = pd.factorize(pd.Series(texts, dtype=object))
        if len(distinct) == 0:
            return pd.DataFrame({c: [] for c in LABEL_COLUMNS})
        probs = self.probabilities(list(distinct))
        out: dict[str, Any] = {}
        for head in ("intent", "journey_stage", "emotion"):
            frame = probs[head]
            out[head] = frame.idxmax(axis=1).to_numpy()
            out[f"{head}_confidence"] = frame.max(axis=1).to_numpy()
        polar = probs["polarity"]
        chosen = polar.idxmax(axis=1)
        expected = polar["positive"] - polar["negative"]
        lower = chosen.map({k: lo for k, (lo, _) in SENTIMENT_BANDS.items()})
        upper = chosen.map({k: hi for k, (_, hi) in SENTIMENT_BANDS.items()})
        out["sentiment"] = expected.clip(lower, upper).to_numpy(dtype=np.float64)
        out["sentiment_confidence"] = polar.max(axis=1).to_numpy()
        labelled = pd.DataFrame(out)[list(LABEL_COLUMNS)]
        return labelled.iloc[codes].reset_index(drop=True)


def fit_embedded(train: pd.DataFrame, version: str | None = None) -> EmbeddedModel:
    """Fit the features and the four heads on a labelled frame (text and label columns)."""
    features = TextFeatures()
    matrix = features.fit_transform(_clean(train["text"]))
    targets = {
        "intent": train["intent"],
        "journey_stage": train["journey_stage"],
        "emotion": train["emotion"],
        "polarity": corpus_polarity(train["sentiment"]),
    }
    heads = {
        head: LogisticRegression(
            C=C, solver="saga", tol=1e-3, class_weight="balanced", max_iter=1000, random_state=0
        ).fit(matrix, y)
        for head, y in targets.items()
    }
    return EmbeddedModel(features, heads, version or model_version())


@lru_cache(maxsize=1)
def embedded_model() -> EmbeddedModel:
    """The model fitted on the whole corpus and its sloppy copies (once per process)."""
    from journeymap.ml.text.corpus import with_sloppy_copies

    return fit_embedded(with_sloppy_copies(load_corpus()))


def macro_f1(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> float:
    """Macro-F1 over the classes present in the truth (absent classes would score 0 or nan)."""
    present = [label for label in labels if label in set(truth)]
    return float(f1_score(truth, predicted, labels=present, average="macro", zero_division=0))


def _majority_f1(truth: pd.Series, labels: Sequence[str], majority: str) -> float:
    return macro_f1(truth, [majority] * len(truth), labels)


def score_labels(
    truth: pd.DataFrame, predicted: pd.DataFrame, train_majority: dict[str, str]
) -> dict[str, Any]:
    """Macro-F1 per label set, sentiment agreement, and majority-class baselines.

    ``truth`` has intent, journey_stage, emotion and a numeric sentiment; ``predicted`` the
    model's columns, row for row."""
    figures: dict[str, Any] = {"texts": len(truth)}
    baselines: dict[str, Any] = {}
    for head in ("intent", "journey_stage", "emotion"):
        name = "stage" if head == "journey_stage" else head
        figures[f"{name}_macro_f1"] = macro_f1(truth[head], predicted[head], HEADS[head])
        baselines[f"{name}_macro_f1_majority"] = _majority_f1(
            truth[head], HEADS[head], train_majority[head]
        )
    true_polarity = [polarity(s) for s in truth["sentiment"]]
    predicted_polarity = [polarity(s) for s in predicted["sentiment"]]
    figures["sentiment_polarity_macro_f1"] = macro_f1(true_polarity, predicted_polarity, POLARITIES)
    error = np.abs(truth["sentiment"].to_numpy(float) - predicted["sentiment"].to_numpy(float))
    figures["sentiment_mae"] = float(error.mean()) if len(error) else None
    if len(truth) > 2:
        figures["sentiment_pearson"] = float(
            np.corrcoef(truth["sentiment"].to_numpy(float), predicted["sentiment"].to_numpy(float))[
                0, 1
            ]
        )
    baselines["sentiment_polarity_macro_f1_majority"] = _majority_f1(
        pd.Series(true_polarity), POLARITIES, train_majority["polarity"]
    )
    figures["baselines"] = baselines
    return figures


@lru_cache(maxsize=1)
def evaluate_embedded() -> dict[str, Any]:
    """Held-out figures of the embedded model (a model fitted on the training split only)."""
    split = split_corpus()
    model = fit_embedded(split.train)
    held_out = split.held_out
    predicted = model.label(held_out["text"].tolist())
    majority = {
        head: split.train[head].mode().iloc[0] for head in ("intent", "journey_stage", "emotion")
    }
    majority["polarity"] = corpus_polarity(split.train["sentiment"]).mode().iloc[0]
    figures = score_labels(held_out, predicted, majority)
    compound = model.features.compound(held_out["text"].tolist())
    figures["baselines"]["sentiment_polarity_macro_f1_vader"] = macro_f1(
        [polarity(s) for s in held_out["sentiment"]],
        [polarity(c) for c in compound],
        POLARITIES,
    )
    figures["train_texts"] = len(split.train)
    figures["thresholds"] = {"negative_below": NEGATIVE_BELOW, "positive_above": POSITIVE_ABOVE}
    return figures
