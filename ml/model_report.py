"""``<build>/model_report.json``: how every Python model did on held-out data, one key per
model, so a reader (or CI) sees every model's figures in one file after a run.

Each model's entry holds its version, when and on what window it was trained, its held-out
metrics beside the baselines it is compared with, and the rows it wrote. Every ML asset
records its entry after writing its table; entries of models that did not run stay as they
were, each with its own ``recorded_at``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPORT_NAME = "model_report.json"


def report_path(build_dir: Path) -> Path:
    return Path(build_dir) / REPORT_NAME


def _plain(value: Any) -> Any:
    """JSON-able: numpy scalars unwrapped, non-finite floats as null, times as ISO text."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def read_model_report(build_dir: Path) -> dict[str, Any]:
    path = report_path(build_dir)
    return json.loads(path.read_text()) if path.exists() else {}


def record_model_report(build_dir: Path, model: str, entry: Mapping[str, Any]) -> Path:
    """Set ``model``'s entry in the report (written atomically) and return the file's path."""
    report = read_model_report(build_dir)
    report[model] = {**_plain(entry), "recorded_at": datetime.now(UTC).isoformat()}
    path = report_path(build_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(dict(sorted(report.items())), indent=2) + "\n")
    tmp.replace(path)
    return path
