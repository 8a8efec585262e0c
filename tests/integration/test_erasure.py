"""`journeymap forget` on a copy of the session fixture: a customer with orders, devices,
support texts (some with their contact details typed in), text labels and a churn score is
erased, and afterwards no table, no file under the data, build and dbt target folders and no
byte of the DuckDB file holds their ids, email or phone; a re-delivery of their old files is
quarantined as erased; the rebuilt reconciliation still accounts for every landed row."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest

from journeymap.contract import ERASED_REASON
from journeymap.erasure import LOG_TABLE, find_person, forget
from journeymap.load import TOMBSTONE_TABLE, load_landing
from journeymap.pii_scan import files_under, scan_files, scan_tables
from journeymap.privacy import pseudonym_key
from journeymap.transform import run_dbt
from journeymap.warehouse import DuckDBWarehouse
from tests.conftest import copy_workspace
from tests.helpers.pseudonyms import pseudonym

pytestmark = pytest.mark.integration

# Where the person is before the request, one table per layer (the positive control).
BEFORE_TABLES = (
    "raw.crm_contacts",
    "raw.orders",
    "raw.support_messages",
    "staging.stg_crm__contacts",
    "intermediate.int_events_sessionized",
    "marts.dim_customers",
    "ml.churn_scores",
    "ml.text_labels",
    "enriched.dim_customer_360",
)

# Customers with orders who wrote to support, most messages first.
CANDIDATES = """
    select m.customer_id
    from raw.support_messages as m
    join raw.orders as o on o.customer_id = m.customer_id
    where m.customer_id is not null and m.author_type = 'customer'
    group by 1 order by count(distinct m.message_id) desc, 1
"""


def _pick_customer(con: duckdb.DuckDBPyConnection) -> str:
    """The first candidate with a churn score (an active subscriber) and labelled texts."""
    scored = {r[0] for r in con.execute("select customer_key from ml.churn_scores").fetchall()}
    labelled = {r[0] for r in con.execute("select customer_key from ml.text_labels").fetchall()}
    for (customer_id,) in con.execute(CANDIDATES).fetchall():
        if pseudonym(customer_id) in scored & labelled:
            return customer_id
    raise AssertionError("no customer with orders, texts and a churn score in the fixture")


def _their_rows(path: Path, clear: set[str], target: Path) -> None:
    """A new CSV file with only the rows of ``path`` that mention the person (a re-delivery
    of their data that is new content to the loader)."""
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [r for r in reader if any(v.strip().lower() in clear for v in r)]
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="") as out:
        csv.writer(out).writerows([header, *rows])


@pytest.fixture(scope="module")
def erasure(built_warehouse, tmp_path_factory):
    root = tmp_path_factory.mktemp("erasure")
    settings = copy_workspace(built_warehouse.settings, root)
    shutil.copytree(built_warehouse.settings.build_dir, settings.build_dir)
    key = pseudonym_key()
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        customer_id = _pick_customer(con)
        person = find_person(con, customer_id, None)
        found = scan_tables(con, person.needles(key), skip_schemas=(), only=BEFORE_TABLES)
        before = {h.where for h in found}
    # Their rows of their landing files as they were, for a re-delivery after the request.
    old_files = root / "old_files"
    clear = {v.lower() for v in person.clear_values()}
    for hit in scan_files(files_under(settings.landing_dir), person.clear_values()):
        path = Path(hit.where)
        _their_rows(path, clear, old_files / path.parent.name / f"redelivered_{path.name}")
    bytes_before = scan_files([settings.duckdb_path], person.clear_values())
    email = sorted(person.emails)[0]
    said: list[str] = []
    result = forget(settings, email=f"  {email.upper()} ", say=said.append)
    return {
        "settings": settings,
        "person": person,
        "key": key,
        "before": before,
        "bytes_before": bytes_before,
        "result": result,
        "said": said,
        "old_files": old_files,
    }


def test_the_person_was_everywhere_before(erasure):
    """Positive controls: the scans find the person before the request."""
    person, before = erasure["person"], erasure["before"]
    assert person.ids and person.emails and person.phones and person.devices
    for table in BEFORE_TABLES:
        assert any(where.startswith(table + ".") for where in before), table
    assert erasure["bytes_before"], "the DuckDB file held their email in clear"


def test_no_trace_in_tables_files_or_warehouse_bytes(erasure):
    """The request's own verification scanned every column of every table of every schema
    (the scanner that found the person in each layer before, above) and found nothing but the
    tombstones; files and the warehouse file's bytes are scanned again here."""
    settings, person, key = erasure["settings"], erasure["person"], erasure["key"]
    needles = person.needles(key)
    assert erasure["result"].remaining == []
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        tombstones = con.execute(f"select count(*) from raw.{TOMBSTONE_TABLE}").fetchall()[0][0]
        # The tombstones themselves: the pseudonyms, nothing in clear.
        kept = (f"raw.{TOMBSTONE_TABLE}",)
        assert scan_tables(con, person.pseudonyms(key), skip_schemas=(), only=kept)
        assert scan_tables(con, person.clear_values(), skip_schemas=(), only=kept) == []
    assert tombstones == len(person.tombstones(key))
    folders = (settings.data_dir, settings.build_dir, settings.dbt_target_dir)
    assert scan_files(files_under(*folders), needles) == []
    assert scan_files([settings.duckdb_path], person.clear_values()) == []
    assert not settings.duckdb_path.with_name(settings.duckdb_path.name + ".wal").exists()
    assert "verified - no trace" in erasure["said"][-1]


def test_erasure_log_counts_rows_per_table_without_personal_data(erasure):
    settings, result = erasure["settings"], erasure["result"]
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        rows = con.execute(
            f"select table_name, rows_erased from raw.{LOG_TABLE} where request_id = ?",
            [result.request_id],
        ).fetchall()
    logged = dict(rows)
    assert {k: v for k, v in logged.items() if not k.startswith("file:")} == result.rows_by_table
    assert logged["raw.crm_contacts"] >= 1 and logged["raw.orders"] >= 1
    assert logged["marts.dim_customers"] == 1
    assert any(k.startswith("file:landing/crm_contacts/") for k in logged)


def test_redelivered_files_are_quarantined_as_erased(erasure):
    settings, person = erasure["settings"], erasure["person"]
    redelivered = list(files_under(erasure["old_files"]))
    assert redelivered
    for path in redelivered:
        shutil.copy2(path, settings.landing_dir / path.parent.name / path.name)
    with DuckDBWarehouse(settings.duckdb_path) as warehouse:
        report = load_landing(warehouse, settings.landing_dir)
        erased = warehouse.query_df(
            "select reason_column, raw_record from raw.quarantine where reason = ?",
            [ERASED_REASON],
        )
    # Only the re-delivered files load: the rewritten ones carry their new checksum.
    assert {f.file_name for f in report.loaded} == {p.name for p in redelivered}
    assert report.rows_quarantined >= len(erased) > 0
    assert erased.raw_record.isna().all()  # no copy of the record
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        # Re-delivered rows reach raw only (staging is not rebuilt yet).
        raw_hits = scan_tables(con, person.clear_values(), skip_schemas=(), only=("raw",))
    assert raw_hits == []


def test_rebuild_reconciles_every_landed_row(erasure):
    """After the request and the re-delivery, staging and the reconciliation rebuild
    incrementally and still account for every row: landed = staged + deduplicated +
    quarantined (the erased rows of re-delivered files among the quarantined)."""
    settings = erasure["settings"]
    run_dbt(settings, "build", "--select", "+mart_data_reconciliation", quiet=True)
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        frame = con.execute("select * from marts.mart_data_reconciliation").df()
        ids = con.execute("select count(*) from staging.stg_crm__contacts").fetchone()[0]
    assert frame.is_reconciled.all(), frame[~frame.is_reconciled]
    assert ids > 0
