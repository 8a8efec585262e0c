"""A real experiment in the sample data: the days after the action decisions, with a planted
effect on the treated customers of one action, written as landing files.

The demo (``journeymap demo``) generates its business, holds back the landing files of the
last ``outcome window + 1`` days (``hold_back``), runs the pipeline on the rest (the actions are
decided at the end of what it sees), then ``plant_extra_orders`` adds the planted effect to the
held-back period and ``release`` lands it all; the next run measures the lift.

The planted effect: every treated customer of the planted action (assigned it and not held out
by the action's own keyed hash, ``journeymap.ml.actions.is_held_out``) places one extra order
within the outcome window with probability ``extra_order_probability``, its amount drawn from
the business's own orders of that period, at a random time of the window. Held-out customers
are untouched, so the true effect on revenue per treated customer is known exactly: the
planted revenue divided by the treated customers (``PlantedTruth``).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from journeymap.load import RAW_SCHEMA
from journeymap.ml.actions import ActionConfig, is_held_out
from journeymap.privacy import pseudonym_key, pseudonymize
from journeymap.warehouse import Warehouse

FILE_DAY = re.compile(r"_(\d{4}-\d{2}-\d{2})\.[^.]+$")
ORDER_COLUMNS = ("order_id", "customer_id", "occurred_at", "status", "amount", "currency")
PLANTED_FILE = "orders_{day}_planted_experiment.csv"
TRUTH_FILE = "experiment.json"


@dataclass(frozen=True)
class PlantedEffect:
    action: str = "referral_invite"
    extra_order_probability: float = 0.75
    window_days: int = 30
    seed: int = 2026


@dataclass(frozen=True)
class PlantedTruth:
    experiment: str
    action: str
    treated_customers: int
    holdout_customers: int
    extra_orders: int
    planted_revenue: float
    revenue_effect_per_treated: float  # the true treated-minus-held-out revenue difference


def file_day(path: Path) -> date | None:
    match = FILE_DAY.search(path.name)
    return date.fromisoformat(match.group(1)) if match else None


def held_back_dir(data_dir: Path) -> Path:
    return data_dir / "held_back"


def hold_back(landing_dir: Path, held_dir: Path, first_day: date) -> int:
    """Move every landing file dated ``first_day`` or later to ``held_dir/<source>/`` (emptied
    first); the number of files moved."""
    shutil.rmtree(held_dir, ignore_errors=True)
    moved = 0
    for path in sorted(landing_dir.glob("*/*")):
        day = file_day(path)
        if day is not None and day >= first_day:
            target = held_dir / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(path), target)
            moved += 1
    return moved


def release(held_dir: Path, landing_dir: Path) -> int:
    """Move the held-back files (and the planted ones) into the landing folders."""
    moved = 0
    for path in sorted(held_dir.glob("*/*")):
        target = landing_dir / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), target)
        moved += 1
    shutil.rmtree(held_dir, ignore_errors=True)
    return moved


def _order_id(experiment: str, customer: str) -> str:
    digest = hashlib.sha256(f"planted|{experiment}|{customer}".encode()).hexdigest()[:16]
    return f"O-{digest}"


def customer_ids_by_key(warehouse: Warehouse) -> dict[str, str]:
    """Customer key -> the clear customer id behind it, for every customer id of the raw CRM
    contacts and orders: staging turns each id into its keyed pseudonym, the customer key
    (journeymap.privacy), so a planted order must carry the clear id, as the shop's would."""
    ids = warehouse.query_df(
        f"select distinct trim(customer_id) as customer_id from {RAW_SCHEMA}.crm_contacts "
        f"union select distinct trim(customer_id) from {RAW_SCHEMA}.orders"
    )["customer_id"].dropna()
    key = pseudonym_key()
    return {pseudonymize(customer_id, key): customer_id for customer_id in ids}


def plant_extra_orders(
    assignments: pd.DataFrame,
    amounts: pd.Series,
    config: ActionConfig,
    effect: PlantedEffect,
    customer_ids: Mapping[str, str],
) -> tuple[pd.DataFrame, PlantedTruth]:
    """The extra orders of the treated customers of ``effect.action`` (landing-file rows of the
    orders source) and the truth. ``assignments``: the experiment's ``ml.action_assignments``
    rows (customer_key, action, assigned_at); ``amounts``: order amounts to draw from;
    ``customer_ids``: the clear customer id of each customer key (``customer_ids_by_key``)."""
    if amounts.empty:
        raise ValueError("no orders to draw the planted orders' amounts from")
    chosen = assignments[
        (assignments["experiment"] == config.experiment) & (assignments["action"] == effect.action)
    ].reset_index(drop=True)
    treated = chosen[~is_held_out(chosen["customer_key"], config)].reset_index(drop=True)
    unknown = set(treated["customer_key"]) - set(customer_ids)
    if unknown:
        raise ValueError(f"{len(unknown)} treated customer keys have no clear customer id")
    rng = np.random.default_rng(effect.seed)
    buys = rng.random(len(treated)) < effect.extra_order_probability
    # Strictly inside the window: after the decision, before the window closes.
    offsets = rng.uniform(60.0, effect.window_days * 86400.0 - 60.0, len(treated))
    drawn = rng.choice(amounts.to_numpy(dtype=float), size=len(treated))
    at = pd.to_datetime(treated["assigned_at"]) + pd.to_timedelta(offsets, unit="s")
    orders = pd.DataFrame(
        {
            "order_id": [_order_id(config.experiment, c) for c in treated["customer_key"]],
            "customer_id": treated["customer_key"].map(customer_ids),
            "occurred_at": at.dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "status": "completed",
            "amount": np.round(drawn, 2),
            "currency": "USD",
        }
    )[buys].reset_index(drop=True)
    revenue = float(orders["amount"].sum())
    truth = PlantedTruth(
        experiment=config.experiment,
        action=effect.action,
        treated_customers=len(treated),
        holdout_customers=len(chosen) - len(treated),
        extra_orders=len(orders),
        planted_revenue=round(revenue, 2),
        revenue_effect_per_treated=revenue / len(treated) if len(treated) else 0.0,
    )
    return orders, truth


def write_planted(
    folder: Path, orders: pd.DataFrame, truth: PlantedTruth, truth_dir: Path, day: date
) -> Path:
    """Write the planted orders as an orders landing file under ``folder/orders/`` and the
    truth to ``truth_dir/experiment.json``; the file written."""
    path = folder / "orders" / PLANTED_FILE.format(day=day.isoformat())
    path.parent.mkdir(parents=True, exist_ok=True)
    orders.loc[:, list(ORDER_COLUMNS)].to_csv(path, index=False)
    truth_dir.mkdir(parents=True, exist_ok=True)
    (truth_dir / TRUTH_FILE).write_text(json.dumps(asdict(truth), indent=2) + "\n")
    return path
