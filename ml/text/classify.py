"""``journeymap classify-text``: label one text, or every row of a CSV file, with the
configured backend (the same labels as ml.text_labels).

A file is read and written in chunks (bounded memory); the output has the input's rows in
the same order, its columns, and the label columns appended (replacing input columns of
the same names). Empty texts get empty labels.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from journeymap.ml.text.embedded import LABEL_COLUMNS
from journeymap.ml.text.labelling import TextBackend
from journeymap.ml.text.normalise import prepare_text

OUTPUT_COLUMNS = (*LABEL_COLUMNS, "backend", "is_fallback")
CHUNK_ROWS = 50_000


def classify(texts: list[str | None], backend: TextBackend) -> pd.DataFrame:
    """``OUTPUT_COLUMNS`` for each text, in order (empty texts: empty labels)."""
    prepared = [prepare_text(t) if isinstance(t, str) else "" for t in texts]
    present = [i for i, t in enumerate(prepared) if t]
    out = pd.DataFrame(index=range(len(texts)), columns=list(OUTPUT_COLUMNS), dtype=object)
    if present:
        labels = backend.label([prepared[i] for i in present]).labels
        out.loc[present, list(OUTPUT_COLUMNS)] = labels[list(OUTPUT_COLUMNS)].to_numpy()
    return out


def classify_one(text: str, backend: TextBackend) -> dict[str, Any]:
    row = classify([text], backend).iloc[0].to_dict()
    for name, value in row.items():
        if isinstance(value, float) and not math.isnan(value):
            row[name] = round(value, 4)
        elif hasattr(value, "item"):
            row[name] = value.item()
    return {"text": text, **row}


def classify_file(source: Path, text_column: str, target: Path | None, backend: TextBackend) -> int:
    """Label every row of ``source``; write ``target`` (CSV). Returns the rows written."""
    source = Path(source)
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no such file")
    header = pd.read_csv(source, nrows=0)
    if text_column not in header.columns:
        raise ValueError(
            f"{source} has no column {text_column!r} (columns: {', '.join(header.columns)}); "
            "name the text column with --text-column"
        )
    rows = 0
    first = True
    for chunk in pd.read_csv(source, dtype=str, keep_default_na=False, chunksize=CHUNK_ROWS):
        labels = classify(chunk[text_column].tolist(), backend)
        kept = chunk.drop(columns=[c for c in OUTPUT_COLUMNS if c in chunk.columns])
        out = pd.concat([kept.reset_index(drop=True), labels], axis=1)
        if target is None:
            print(out.to_csv(index=False, header=first), end="")
        else:
            out.to_csv(target, index=False, mode="w" if first else "a", header=first)
        rows += len(out)
        first = False
    return rows
