"""The labelled corpus the embedded text model learns from (``corpus/customer_texts.csv``).

Written for journeymap by hand, not drawn from the sample data generator: customer-support
messages, chats, reviews and NPS answers as people write them - short and long, formal and
curt, with typos, several ways of saying each intent and mixed feelings - each labelled by
the guideline in ``labels.py`` with an intent, a journey stage, a sentiment in [-1, 1] (on a
five-point scale: -1, -0.5, 0, 0.5, 1) and an emotion.

The held-out split is fixed by a hash of each text (a quarter of them), so it never changes
between runs and never depends on the order of the file. For training, each text is also
learnt in ``SLOPPY_COPIES`` sloppy copies (a typo, lower case, no full stop) drawn from a
seeded stream, and a copy is always on the same side of the split as its original.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from random import Random

import pandas as pd

from journeymap.ml.text.labels import LABEL_SETS
from journeymap.text_noise import sloppy

CORPUS_FILE = "customer_texts.csv"
HELD_OUT_SHARE = 0.25
SLOPPY_COPIES = 2
SEED = 17
COLUMNS = ("text", "intent", "journey_stage", "sentiment", "emotion")


class CorpusError(ValueError):
    """The corpus file breaks the label sets or the sentiment range."""


def _corpus_bytes() -> bytes:
    return resources.files("journeymap.ml.text").joinpath("corpus", CORPUS_FILE).read_bytes()


@lru_cache(maxsize=1)
def corpus_digest() -> str:
    """The corpus file's sha256 (part of the model version: a new corpus is a new model)."""
    return hashlib.sha256(_corpus_bytes()).hexdigest()


def load_corpus() -> pd.DataFrame:
    """The corpus as a frame (text, intent, journey_stage, sentiment, emotion), checked."""
    from io import BytesIO

    frame = pd.read_csv(BytesIO(_corpus_bytes()), dtype={"text": str}, keep_default_na=False)
    if tuple(frame.columns) != COLUMNS:
        raise CorpusError(f"corpus columns are {list(frame.columns)}, expected {list(COLUMNS)}")
    for column, values in LABEL_SETS.items():
        bad = sorted(set(frame[column]) - set(values))
        if bad:
            raise CorpusError(f"corpus {column} has values outside its set: {bad}")
    frame["sentiment"] = pd.to_numeric(frame["sentiment"])
    if not frame["sentiment"].between(-1, 1).all():
        raise CorpusError("corpus sentiment must lie in [-1, 1]")
    if frame["text"].duplicated().any():
        raise CorpusError("corpus texts repeat")
    return frame


def is_held_out(text: str) -> bool:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < HELD_OUT_SHARE


@dataclass(frozen=True)
class CorpusSplit:
    train: pd.DataFrame  # originals and their sloppy copies
    held_out: pd.DataFrame  # originals only


def with_sloppy_copies(frame: pd.DataFrame, copies: int = SLOPPY_COPIES) -> pd.DataFrame:
    """``frame`` and ``copies`` sloppy versions of each text (same labels), seeded."""
    r = Random(SEED).random
    variants = [
        frame.assign(text=[sloppy(r, t, 0.7, 0.5, 0.5) for t in frame["text"]])
        for _ in range(copies)
    ]
    return pd.concat([frame, *variants], ignore_index=True)


def split_corpus(frame: pd.DataFrame | None = None) -> CorpusSplit:
    frame = load_corpus() if frame is None else frame
    held = frame["text"].map(is_held_out)
    return CorpusSplit(
        train=with_sloppy_copies(frame[~held].reset_index(drop=True)),
        held_out=frame[held].reset_index(drop=True),
    )
