"""Synthetic event logs with a known structure, for the next-step models.

``process_log`` simulates a case/activity/timestamp log such as a help desk or order-to-cash
system writes: a few dozen activities, long cases, no journey stages, and a next activity
that depends on the last *two* activities (a second-order chain: a first-order model cannot
tell what follows a shared step, a variable-order model can).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

END = -1


def second_order_chain(activities: int, seed: int, concentration: float = 0.3) -> np.ndarray:
    """Transition probabilities P(next | previous, current) over ``activities`` + end; each
    row is a sparse Dirichlet draw, so (previous, current) pairs lead to different places."""
    rng = np.random.default_rng(seed)
    table = rng.dirichlet(np.full(activities + 1, concentration), size=(activities, activities))
    table[:, :, -1] = 0.02  # a case ends with about this chance after any step
    return table / table.sum(axis=2, keepdims=True)


def process_log(
    cases: int = 600,
    activities: int = 30,
    seed: int = 0,
    start: str = "2026-01-01",
    days: int = 200,
    mean_gap_hours: float = 6.0,
    max_steps: int = 400,
) -> pd.DataFrame:
    """One row per event: case_id, activity, timestamp (ISO, UTC), in no particular order."""
    rng = np.random.default_rng(seed + 1)
    table = second_order_chain(activities, seed)
    names = [f"activity_{i:02d}" for i in range(activities)]
    origin = pd.Timestamp(start, tz="UTC").value // 1_000_000_000
    rows: list[tuple[str, str, int]] = []
    for case in range(cases):
        t = origin + int(rng.random() * days * 86_400)
        previous, current = rng.integers(activities), rng.integers(activities)
        for _ in range(max_steps):
            rows.append((f"case_{case:05d}", names[current], t))
            nxt = rng.choice(activities + 1, p=table[previous, current])
            if nxt == activities:
                break
            previous, current = current, nxt
            t += int(rng.exponential(mean_gap_hours * 3_600)) + 1
    frame = pd.DataFrame(rows, columns=["case_id", "activity", "ts"])
    frame["timestamp"] = pd.to_datetime(frame["ts"], unit="s", utc=True).dt.strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    return frame.drop(columns="ts").sample(frac=1.0, random_state=seed).reset_index(drop=True)


def as_step_frame(log: pd.DataFrame) -> pd.DataFrame:
    """The columns ``journeymap.ml.step_log.log_from_frame`` reads."""
    return pd.DataFrame(
        {
            "journey_key": log["case_id"],
            "occurred_at": log["timestamp"],
            "step": log["activity"],
        }
    )
