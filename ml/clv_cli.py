"""``journeymap clv fit``: BG/NBD and Gamma-Gamma on anyone's transaction file.

Reads CSV/TSV/TXT (separator from the first line: comma, tab, semicolon, else whitespace),
Parquet or JSONL; builds the calibration summary with ``ml.clv.rfm_summary`` (same-day
transactions merged) and prints the fitted parameters with the log-likelihoods and the data
they came from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from journeymap.ml.clv import fit_clv, rfm_summary


def _separator(path: Path) -> str:
    """The first line's separator: comma, tab or semicolon, else runs of whitespace."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        first = handle.readline()
    for separator in (",", "\t", ";"):
        if separator in first:
            return separator
    return r"\s+"


def read_transactions(path: Path, columns: list[str]) -> pd.DataFrame:
    """The file's rows (the named columns only), with a clear error for a missing column."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame = pd.read_parquet(path)
    elif suffix in (".jsonl", ".ndjson"):
        frame = pd.read_json(path, lines=True, dtype=False)
    else:
        frame = pd.read_csv(path, sep=_separator(path), dtype=str)
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{path}: no column {', '.join(missing)} (columns: {', '.join(frame.columns)})"
        )
    return frame[columns]


def _parse_dates(values: pd.Series, date_format: str | None) -> pd.Series:
    text = values.astype(str).str.strip()
    if date_format:
        return pd.to_datetime(text, format=date_format)
    if text.str.fullmatch(r"\d{8}").all():
        return pd.to_datetime(text, format="%Y%m%d")
    return pd.to_datetime(text, utc=True).dt.tz_localize(None)


def fit_transaction_file(
    path: Path,
    *,
    customer: str,
    date: str,
    value: str,
    calibration_end: str | None = None,
    time_unit_days: float = 7.0,
    date_format: str | None = None,
    as_json: bool = False,
) -> str:
    """Fit both models on the file's transactions up to ``calibration_end`` (default: its
    last date) and return the report (a table, or JSON)."""
    frame = read_transactions(path, [customer, date, value])
    transactions = pd.DataFrame(
        {
            "customer_key": frame[customer].astype(str).str.strip(),
            "at": _parse_dates(frame[date], date_format),
            "value": pd.to_numeric(frame[value], errors="coerce"),
        }
    )
    bad = transactions["value"].isna()
    if bad.any():
        raise ValueError(f"{path}: {int(bad.sum())} rows have no numeric {value}")
    end = pd.Timestamp(calibration_end) if calibration_end else transactions["at"].max()
    summary = rfm_summary(transactions, end, time_unit_days=time_unit_days)
    fit = fit_clv(summary, time_unit_days)
    result: dict[str, Any] = {
        "transactions_file": str(path),
        "calibration_end": end.date().isoformat(),
        **fit.parameters(),
    }
    if as_json:
        return json.dumps(result, indent=2)
    bg, gg = result["bgnbd"], result["gamma_gamma"]
    lines = [
        f"transactions     {path}",
        f"calibration end  {result['calibration_end']} (time unit: {time_unit_days:g} days)",
        f"customers        {result['customers']:,} ({result['repeat_buyers']:,} repeat buyers)",
        "",
        "BG/NBD (purchase frequency and drop-out)",
        f"  r       {bg['r']:.4f}",
        f"  alpha   {bg['alpha']:.4f}",
        f"  a       {bg['a']:.4f}",
        f"  b       {bg['b']:.4f}",
        f"  log-likelihood  {bg['log_likelihood']:.2f}",
        "",
        "Gamma-Gamma (spend per transaction, repeat buyers)",
        f"  p       {gg['p']:.4f}",
        f"  q       {gg['q']:.4f}",
        f"  v       {gg['v']:.4f}",
        f"  log-likelihood  {gg['log_likelihood']:.2f}",
        f"  mean spend      {gg['mean_spend']:.2f}",
    ]
    correlation = result["spend_frequency_correlation"]
    if correlation is not None:
        lines.append(f"  spend-frequency correlation {correlation:.3f} (the model assumes none)")
    return "\n".join(lines)
