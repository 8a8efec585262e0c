"""Consent on the session fixture: customers who refused analytics in the CRM (about 1 in 16,
planted by the generator) are counted in dim_customers and absent from every ML output;
marketing consent is the CRM's email consent."""

from __future__ import annotations

import duckdb
import pytest

from journeymap.generator.customer import analytics_consent
from tests.helpers.pseudonyms import pseudonym
from tests.integration.marts import REFUSED

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def con(built_warehouse):
    with duckdb.connect(str(built_warehouse.duckdb_path), read_only=True) as connection:
        yield connection


def _customer_key_tables(con) -> list[str]:
    """Every ML output with a customer_key column (found from the catalog)."""
    rows = con.execute(
        "select table_schema || '.' || table_name from information_schema.columns "
        "where table_schema = 'ml' and column_name = 'customer_key' order by 1"
    ).fetchall()
    return [name for (name,) in rows]


def test_opted_out_customers_are_counted(con):
    ids = con.execute("select distinct customer_id from raw.crm_contacts").fetchall()
    clear = [customer_id for (customer_id,) in ids]
    refused = {pseudonym(c) for c in clear if not analytics_consent(c)}
    counted = {
        r[0]
        for r in con.execute(
            "select customer_id from marts.dim_customers where not has_analytics_consent"
        ).fetchall()
    }
    assert counted == refused and 0.03 < len(refused) / len(clear) < 0.10


def test_no_ml_output_is_about_an_opted_out_customer(con):
    tables = _customer_key_tables(con)
    assert {"ml.churn_scores", "ml.text_labels"} <= set(tables)
    for table in tables:
        (listed,) = con.execute(
            f"select count(*) from {table} where customer_key in ({REFUSED})"
        ).fetchone()
        assert listed == 0, table
    # They would have been there: opted-out customers wrote texts and are active subscribers.
    (texts,) = con.execute(
        f"select count(*) from marts.fct_customer_texts where customer_key in ({REFUSED})"
    ).fetchone()
    assert texts > 0


def test_profiles_keep_opted_out_customers_without_scores(con):
    (with_scores,) = con.execute(
        "select count(*) from enriched.dim_customer_360 as c "
        "join marts.dim_customers as d using (customer_key) "
        "where not d.has_analytics_consent and c.churn_score is not null"
    ).fetchone()
    assert with_scores == 0


def test_marketing_actions_go_only_to_customers_who_consented_to_their_channel(con):
    """Every marketing action of ml.action_assignments (the catalog's is_marketing) goes to a
    customer with consent for its channel, by the CRM's latest flags in dim_customers; and
    some customers with a marketing-eligible profile opted out (the rule had work to do)."""
    from journeymap.ml.actions import CONSENT_COLUMN

    for channel, column in CONSENT_COLUMN.items():
        (without_consent,) = con.execute(
            "select count(*) from ml.action_assignments as a "
            "join seeds.actions as c using (action) "
            "join marts.dim_customers as d using (customer_key) "
            f"where c.is_marketing and a.channel = ? and not coalesce(d.{column}, false)",
            [channel],
        ).fetchone()
        assert without_consent == 0, channel
    (marketing,) = con.execute(
        "select count(*) from ml.action_assignments join seeds.actions using (action) "
        "where is_marketing"
    ).fetchone()
    (opted_out,) = con.execute(
        "select count(*) from marts.dim_customers where not has_email_consent"
    ).fetchone()
    assert marketing > 0 and opted_out > 0
