"""Lifetime value: the BG/NBD and Gamma-Gamma fits reproduce Fader, Hardie and Lee (2005) on
the CDNOW sample within 1% per parameter, recover planted parameters from simulated
customers, and the per-customer predictions follow the paper's worked example.

The RFM summary is computed here from the raw CDNOW log with our own code (ml.clv), under the
paper's conventions (read /work/shared/data/cdnow/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from journeymap.cli import main
from journeymap.ml.clv import (
    BGNBDParams,
    CLVFit,
    CLVFitError,
    GammaGammaParams,
    expected_purchases,
    expected_spend,
    fit_bgnbd,
    fit_clv,
    fit_gamma_gamma,
    holdout_check,
    holdout_transactions,
    predict_value,
    probability_alive,
    rfm_summary,
)
from journeymap.ml.customer_value import score_customer_value
from journeymap.ml.outputs import CUSTOMER_VALUE

CDNOW = Path("/work/shared/data/cdnow")
SAMPLE = CDNOW / "CDNOW_sample.txt"
MASTER = CDNOW / "CDNOW_master.txt"
CALIBRATION_END = "1997-09-30"
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}

needs_cdnow = pytest.mark.skipif(not SAMPLE.exists(), reason="CDNOW data not at hand")


def _sample_log() -> pd.DataFrame:
    return pd.read_csv(
        SAMPLE,
        sep=r"\s+",
        header=None,
        names=["customer_key", "master_id", "at", "cds", "value"],
        dtype={"customer_key": str, "at": int},
    )


@pytest.fixture(scope="module")
def cdnow_summary() -> pd.DataFrame:
    return rfm_summary(_sample_log(), CALIBRATION_END, time_unit_days=7)


@needs_cdnow
def test_the_summary_follows_the_papers_conventions(cdnow_summary):
    s = cdnow_summary
    assert len(s) == 2357  # the 1/10th sample, every customer first bought in 1997 Q1
    assert int((s["frequency"] > 0).sum()) == 946  # the Gamma-Gamma fit's repeat buyers
    # T runs to 1997-09-30 in weeks: 38.86 for a first purchase on 1 January.
    assert s["T"].max() == pytest.approx(272 / 7)
    assert (s["recency"] <= s["T"]).all() and (s.loc[s["frequency"] == 0, "recency"] == 0).all()
    # Same-day purchases merge: no customer has more transactions than purchase days.
    log = _sample_log()
    log = log[log["at"] <= 19970930]
    days = log.groupby("customer_key")["at"].nunique()
    assert (s.set_index("customer_key")["frequency"] == days.reindex(s["customer_key"]) - 1).all()


@needs_cdnow
def test_bgnbd_reproduces_the_published_fit_within_one_percent(cdnow_summary):
    fit = fit_bgnbd(cdnow_summary["frequency"], cdnow_summary["recency"], cdnow_summary["T"])
    for name, published in PUBLISHED_BGNBD.items():
        assert getattr(fit, name) == pytest.approx(published, rel=0.01), name
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.5)


@needs_cdnow
def test_gamma_gamma_reproduces_the_published_fit_within_one_percent(cdnow_summary):
    fit = fit_gamma_gamma(cdnow_summary["frequency"], cdnow_summary["monetary_value"])
    assert fit.customers == 946
    for name, published in PUBLISHED_GAMMA_GAMMA.items():
        assert getattr(fit, name) == pytest.approx(published, rel=0.01), name


def test_the_papers_worked_example():
    """FHL 2005, section 5: a customer with x = 2, t_x = 30.43, T = 38.86 weeks is expected to
    make 1.226 purchases in the next 39 weeks under the published parameters."""
    params = BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=0, customers=0)
    expected = expected_purchases(params, 39, np.array([2]), np.array([30.43]), np.array([38.86]))
    assert expected[0] == pytest.approx(1.226, abs=0.002)
    # A customer without repeat purchases is alive by the model's definition; the longer the
    # silence after a repeat purchase, the less likely alive.
    alive = probability_alive(params, np.array([0, 2, 2]), np.array([0, 38, 10]), np.full(3, 38.86))
    assert alive[0] == 1.0 and 1 > alive[1] > alive[2] > 0


@needs_cdnow
def test_the_holdout_period_is_predicted_better_than_a_naive_rate(cdnow_summary):
    """39 holdout weeks (1997-10-01 .. 1998-06-30): BG/NBD's conditional expectations beat each
    customer repeating their calibration rate, per customer and in total."""
    fit = fit_bgnbd(cdnow_summary["frequency"], cdnow_summary["recency"], cdnow_summary["T"])
    actual = holdout_transactions(_sample_log(), CALIBRATION_END, "1998-06-30")
    check = holdout_check(cdnow_summary, actual, fit, 39)
    naive = check["baselines"]
    assert check["mae_per_customer"] < naive["naive_rate_mae_per_customer"]
    total_error = abs(check["predicted_transactions"] - check["actual_transactions"])
    assert total_error < abs(
        naive["naive_rate_predicted_transactions"] - check["actual_transactions"]
    )
    assert abs(check["total_error_share"]) < 0.15
    rows = {row["calibration_frequency"]: row for row in check["by_calibration_frequency"]}
    assert rows["0"]["customers"] == 1411
    assert rows["0"]["mean_predicted"] == pytest.approx(rows["0"]["mean_actual"], abs=0.05)


@needs_cdnow
def test_the_full_log_fits_at_scale_close_to_the_sample(cdnow_summary):
    """The whole cohort (23,570 customers, ten times the sample) gives parameters of the same
    population: within 15% of the sample's."""
    log = pd.read_csv(MASTER, sep=r"\s+", dtype={"customer_id": str, "date": int})
    summary = rfm_summary(
        log, CALIBRATION_END, customer="customer_id", at="date", value="dollar_value"
    )
    assert len(summary) == 23570
    fit = fit_clv(summary)
    sample = fit_clv(cdnow_summary)
    for name in ("r", "alpha", "a", "b"):
        assert getattr(fit.bgnbd, name) == pytest.approx(getattr(sample.bgnbd, name), rel=0.15)
    for name in ("p", "q", "v"):
        assert getattr(fit.gamma_gamma, name) == pytest.approx(
            getattr(sample.gamma_gamma, name), rel=0.15
        )


def _simulate_bgnbd(n: int, r: float, alpha: float, a: float, b: float, T: float, seed: int):
    """Customers as the BG/NBD story tells it: a Poisson rate from Gamma(r, alpha), a drop-out
    probability from Beta(a, b) after each purchase, observed for T time units."""
    rng = np.random.default_rng(seed)
    rates = rng.gamma(r, 1 / alpha, size=n)
    drop = rng.beta(a, b, size=n)
    x, t_x = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / rates[i])
            if t > T:
                break
            x[i] += 1
            t_x[i] = t
            if rng.random() < drop[i]:
                break
    return x, t_x, np.full(n, T)


def test_bgnbd_recovers_planted_parameters():
    planted = {"r": 0.5, "alpha": 3.0, "a": 1.5, "b": 4.0}
    x, t_x, big_t = _simulate_bgnbd(6000, **planted, T=52.0, seed=3)
    fit = fit_bgnbd(x, t_x, big_t)
    for name, value in planted.items():
        assert getattr(fit, name) == pytest.approx(value, rel=0.2), name
    # Mean-implied quantity recovered tighter than the parameters: purchase rate E[λ] = r/α.
    assert fit.r / fit.alpha == pytest.approx(planted["r"] / planted["alpha"], rel=0.1)


def test_gamma_gamma_recovers_planted_parameters():
    rng = np.random.default_rng(5)
    p, q, v = 4.0, 5.0, 30.0
    n = 5000
    nu = rng.gamma(q, 1 / v, size=n)
    x = rng.integers(1, 8, size=n)
    means = np.array([rng.gamma(p, 1 / nu[i], size=x[i]).mean() for i in range(n)])
    fit = fit_gamma_gamma(x, means)
    assert fit.p == pytest.approx(p, rel=0.1)
    assert fit.q == pytest.approx(q, rel=0.15)
    assert fit.v == pytest.approx(v, rel=0.2)
    assert fit.mean_spend == pytest.approx(p * v / (q - 1), rel=0.05)


def test_expected_spend_shrinks_towards_the_population_mean():
    params = GammaGammaParams(p=6.25, q=3.74, v=15.44, log_likelihood=0, customers=0)
    spend = expected_spend(params, np.array([0, 1, 10]), np.array([np.nan, 100.0, 100.0]))
    assert spend[0] == pytest.approx(params.mean_spend)
    assert params.mean_spend < spend[1] < spend[2] < 100  # more purchases, more own weight


def test_a_fit_without_repeat_buyers_is_a_clear_error():
    with pytest.raises(CLVFitError, match="no customer bought twice"):
        fit_bgnbd(np.zeros(50), np.zeros(50), np.full(50, 10.0))
    with pytest.raises(CLVFitError, match="repeat buyers"):
        fit_gamma_gamma(np.zeros(50), np.full(50, np.nan))


def test_the_value_run_scores_every_buyer_once_with_values_in_range():
    x, t_x, big_t = _simulate_bgnbd(800, 0.8, 20.0, 1.2, 6.0, T=120.0, seed=9)
    start = pd.Timestamp("2026-01-01")
    rows = []
    for i in range(len(x)):
        first = start + pd.Timedelta(days=int(i % 30))
        rows.append((f"C{i}", first, 40.0 + i % 7))
        for k in range(int(x[i])):
            rows.append((f"C{i}", first + pd.Timedelta(days=float(t_x[i]) * (k + 1) / x[i]), 50.0))
    orders = pd.DataFrame(rows, columns=["customer_key", "at", "value"])
    run = score_customer_value(orders, pd.Timestamp("2026-06-01"))
    scores = run.scores
    assert scores["customer_key"].is_unique and len(scores) == 800
    assert scores["probability_alive"].between(0, 1).all()
    assert (scores["predicted_value"] >= 0).all() and (scores["predicted_purchases"] >= 0).all()
    assert (scores["horizon_days"] == 90).all()
    assert run.holdout["customers"] > 0 and "mae_per_customer" in run.holdout
    entry = run.report_entry()
    assert entry["parameters"]["bgnbd"]["r"] > 0 and entry["rows_written"] == 800


def test_predict_value_is_purchases_times_spend():
    summary = pd.DataFrame(
        {
            "customer_key": ["a", "b"],
            "frequency": [0, 3],
            "recency": [0.0, 20.0],
            "T": [30.0, 30.0],
            "monetary_value": [np.nan, 60.0],
        }
    )
    clv = CLVFit(
        BGNBDParams(0.243, 4.414, 0.793, 2.426, 0.0, 2),
        GammaGammaParams(6.25, 3.74, 15.44, 0.0, 1),
        7.0,
        summary,
    )
    out = predict_value(clv, 13)
    assert out["expected_value"].to_numpy() == pytest.approx(
        (out["expected_purchases"] * out["expected_spend"]).to_numpy()
    )


def _clv_fit(path: Path, customer: str, date: str, value: str, *extra: str) -> int:
    return main(
        [
            "clv",
            "fit",
            "--transactions",
            str(path),
            "--customer-column",
            customer,
            "--date-column",
            date,
            "--value-column",
            value,
            *extra,
        ]
    )


@needs_cdnow
def test_the_clv_command_prints_the_published_parameters(tmp_path, capsys):
    log = _sample_log()
    path = tmp_path / "cdnow.csv"
    log[["customer_key", "at", "value"]].rename(columns={"at": "day"}).to_csv(path, index=False)
    code = _clv_fit(
        path, "customer_key", "day", "value", "--calibration-end", CALIBRATION_END, "--json"
    )
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    for name, published in PUBLISHED_BGNBD.items():
        assert printed["bgnbd"][name] == pytest.approx(published, rel=0.01)
    for name, published in PUBLISHED_GAMMA_GAMMA.items():
        assert printed["gamma_gamma"][name] == pytest.approx(published, rel=0.01)
    assert printed["customers"] == 2357 and printed["repeat_buyers"] == 946


def test_the_clv_command_names_a_missing_column(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text("id,when,amount\na,2026-01-01,3\n")
    code = _clv_fit(path, "customer", "when", "amount")
    assert code == 1
    assert "no column customer (columns: id, when, amount)" in capsys.readouterr().err


def test_expectations_stay_right_when_almost_nobody_drops_out():
    """A fit with a and b in the thousands (drop-out almost never) is the NBD model: expected
    purchases tend to (r + x) t / (alpha + T). scipy's hyp2f1 returned negative expectations
    for such parameters (a shop's first three months); the summed series does not."""
    params = BGNBDParams(r=2.04, alpha=131.9, a=1e4, b=1e9, log_likelihood=0, customers=0)
    x, t_x, big_t = np.array([0, 1, 3, 10]), np.array([0, 20, 50, 80]), np.array([60, 60, 90, 90])
    expected = expected_purchases(params, 30, x, t_x, big_t)
    nbd = (params.r + x) * 30 / (params.alpha + big_t)
    assert expected == pytest.approx(nbd, rel=0.01)
    near = BGNBDParams(r=2.04, alpha=131.9, a=8412.5, b=418517.9, log_likelihood=0, customers=0)
    assert (expected_purchases(near, 30, x, t_x, big_t) > 0).all()


def test_data_without_enough_buyers_writes_no_values_and_says_why():
    """A help desk log or a product-analytics export without orders: nothing to fit, and the
    run reports why instead of failing the pipeline."""
    orders = pd.DataFrame(
        {
            "customer_key": ["a", "a", "b"],
            "at": pd.to_datetime(["2026-05-01", "2026-05-09", "2026-05-03"]),
            "value": [10.0, 12.0, 9.0],
        }
    )
    run = score_customer_value(orders, pd.Timestamp("2026-06-01"))
    assert run.scores.empty and list(run.scores.columns) == list(CUSTOMER_VALUE.column_names)
    entry = run.report_entry()
    assert "at least 20 customers" in entry["not_scored"] and entry["rows_written"] == 0
    assert run.metadata()["customers_scored"] == 0
    assert json.loads(json.dumps(entry)) == entry
