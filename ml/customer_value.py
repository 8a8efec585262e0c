"""Lifetime value of every customer who has ordered: BG/NBD and Gamma-Gamma (ml.clv) fitted
on the completed orders in marts.fct_events, written to ``ml.customer_value``.

A run, at ``as_of`` (default: midnight after the last event's day):

1. **Holdout check**: fit both models on the orders up to ``holdout_days`` before the end of
   the data, predict each of those customers' purchases in the held-out days and compare with
   what they did (totals, per-customer error beside a naive "same rate as before" baseline,
   mean predicted and actual by calibration frequency). Skipped, with the reason, when the
   calibration period holds too few customers or repeat buyers for a fit.
2. **Final fit** on every order up to the end of the data, then per customer: probability
   alive, expected purchases and spend, and predicted value over ``horizon_days``.

Time is measured in days (``time_unit_days`` = 1); same-day orders count as one purchase.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from journeymap.ml.clv import (
    CLVFit,
    CLVFitError,
    fit_clv,
    holdout_check,
    holdout_transactions,
    predict_value,
    rfm_summary,
)
from journeymap.ml.customers_io import read_orders
from journeymap.ml.features import as_cutoff, naive_utc
from journeymap.ml.outputs import CUSTOMER_VALUE, write_output
from journeymap.ml.warehouse_io import WarehouseSchemas, resolve_as_of
from journeymap.warehouse import Warehouse

MODEL_VERSION = "clv-bgnbd-gg-v1"


@dataclass(frozen=True)
class ValueConfig:
    horizon_days: int = 90
    holdout_days: int = 30
    time_unit_days: float = 1.0


def _day_before(as_of: pd.Timestamp) -> pd.Timestamp:
    """The last whole day of data before ``as_of``."""
    return (pd.Timestamp(as_of) - pd.Timedelta(microseconds=1)).floor("D")


@dataclass
class CustomerValueRun:
    scores: pd.DataFrame
    fit: CLVFit | None  # None when the orders cannot be fitted: ``not_scored`` says why
    holdout: dict[str, Any]
    config: ValueConfig
    as_of: pd.Timestamp
    model_version: str = MODEL_VERSION
    runtime_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    not_scored: str | None = None

    def report_entry(self) -> dict[str, Any]:
        """This run's entry in build/model_report.json."""
        entry = {
            "model_version": self.model_version,
            "table": f"ml.{CUSTOMER_VALUE.table}",
            "task": (
                f"purchases and value over the next {self.config.horizon_days} days "
                "(BG/NBD x Gamma-Gamma, days, same-day orders merged)"
            ),
            "training_window": {
                "orders_through": _day_before(self.as_of).date().isoformat(),
                "scored_at_cutoff": self.as_of.isoformat(),
            },
        }
        if self.fit is None:
            return {**entry, "not_scored": self.not_scored, "rows_written": 0}
        parameters = self.fit.parameters()
        return {
            **entry,
            "parameters": {"bgnbd": parameters["bgnbd"], "gamma_gamma": parameters["gamma_gamma"]},
            "customers": parameters["customers"],
            "repeat_buyers": parameters["repeat_buyers"],
            "spend_frequency_correlation": parameters["spend_frequency_correlation"],
            "held_out": self.holdout,
            "rows_written": len(self.scores),
        }

    def metadata(self) -> dict[str, Any]:
        held = self.holdout or {}
        if self.fit is None:
            return {
                "model_version": self.model_version,
                "customers_scored": 0,
                "not_scored": self.not_scored,
                "runtime_seconds": round(float(self.runtime_seconds), 3),
            }
        bg, gg = self.fit.bgnbd, self.fit.gamma_gamma
        return {
            "model_version": self.model_version,
            "customers_scored": len(self.scores),
            "bgnbd_r": bg.r,
            "bgnbd_alpha": bg.alpha,
            "bgnbd_a": bg.a,
            "bgnbd_b": bg.b,
            "gamma_gamma_p": gg.p,
            "gamma_gamma_q": gg.q,
            "gamma_gamma_v": gg.v,
            "holdout_predicted_purchases": held.get("predicted_transactions"),
            "holdout_actual_purchases": held.get("actual_transactions"),
            "holdout_mae_per_customer": held.get("mae_per_customer"),
            "mean_predicted_value": float(self.scores["predicted_value"].mean())
            if len(self.scores)
            else None,
            "runtime_seconds": round(float(self.runtime_seconds), 3),
        }


def _holdout(orders: pd.DataFrame, last_day: pd.Timestamp, config: ValueConfig) -> dict[str, Any]:
    calibration_end = last_day - pd.Timedelta(days=config.holdout_days)
    summary = rfm_summary(orders, calibration_end, time_unit_days=config.time_unit_days)
    base = {
        "calibration_end": calibration_end.date().isoformat(),
        "holdout_end": last_day.date().isoformat(),
    }
    try:
        fit = fit_clv(summary, config.time_unit_days)
    except CLVFitError as error:
        return {**base, "skipped": str(error)}
    actual = holdout_transactions(orders, calibration_end, last_day)
    horizon = config.holdout_days / config.time_unit_days
    return {**base, **holdout_check(summary, actual, fit.bgnbd, horizon)}


def score_customer_value(
    orders: pd.DataFrame,
    as_of: datetime | pd.Timestamp,
    config: ValueConfig = ValueConfig(),
    scored_at: datetime | pd.Timestamp | None = None,
    model_version: str = MODEL_VERSION,
) -> CustomerValueRun:
    """The whole value run on an order frame (customer_key, at, value): holdout check, final
    fit, scores (no I/O)."""
    started = time.perf_counter()
    as_of = as_cutoff(as_of)
    orders = orders[naive_utc(orders["at"]) < as_of]
    last_day = _day_before(as_of)
    holdout = _holdout(orders, last_day, config)
    summary = rfm_summary(orders, last_day, time_unit_days=config.time_unit_days)
    try:
        fit = fit_clv(summary, config.time_unit_days)
    except CLVFitError as error:  # e.g. a help desk log without orders: say why, write none
        return CustomerValueRun(
            scores=CUSTOMER_VALUE.empty(),
            fit=None,
            holdout=holdout,
            config=config,
            as_of=as_of,
            model_version=model_version,
            not_scored=str(error),
        )
    horizon = config.horizon_days / config.time_unit_days
    predicted = predict_value(fit, horizon)
    revenue = orders.groupby(orders["customer_key"].astype(str))["value"].sum()
    unit = config.time_unit_days
    scores = pd.DataFrame(
        {
            "customer_key": summary["customer_key"].to_numpy(),
            "purchases": summary["frequency"].to_numpy() + 1,
            "repeat_purchases": summary["frequency"].to_numpy(),
            "days_first_to_last_purchase": summary["recency"].to_numpy() * unit,
            "days_since_first_purchase": summary["T"].to_numpy() * unit,
            "mean_repeat_order_value": summary["monetary_value"].to_numpy(),
            "historical_revenue": revenue.reindex(summary["customer_key"]).to_numpy(dtype=float),
            "probability_alive": predicted["probability_alive"].to_numpy(),
            "horizon_days": config.horizon_days,
            "predicted_purchases": predicted["expected_purchases"].to_numpy(),
            "predicted_order_value": predicted["expected_spend"].to_numpy(),
            "predicted_value": predicted["expected_value"].to_numpy(),
            "model_version": model_version,
            "cutoff_at": as_of,
            "scored_at": as_cutoff(scored_at or datetime.now(UTC)),
        }
    )
    scores["probability_alive"] = np.clip(scores["probability_alive"], 0.0, 1.0)
    return CustomerValueRun(
        scores=CUSTOMER_VALUE.conform(scores),
        fit=fit,
        holdout=holdout,
        config=config,
        as_of=as_of,
        model_version=model_version,
        runtime_seconds=time.perf_counter() - started,
    )


def run_customer_value(
    warehouse: Warehouse,
    as_of: datetime | None = None,
    config: ValueConfig = ValueConfig(),
    schemas: WarehouseSchemas = WarehouseSchemas(),
) -> CustomerValueRun:
    """Read the orders, run the holdout check and the final fit, replace ml.customer_value."""
    started = time.perf_counter()
    orders = read_orders(warehouse, schemas)
    as_of = resolve_as_of(warehouse, as_of, schemas, "no orders to value")
    run = score_customer_value(orders, as_of, config)
    write_output(warehouse, CUSTOMER_VALUE, run.scores, schema=schemas.ml)
    run.runtime_seconds = time.perf_counter() - started
    return run
