"""Pseudonyms, the demo key, planted PII and the PII scanner on small inputs."""

from __future__ import annotations

import os
import stat

import duckdb
import pytest

from journeymap.generator.pii import planted_card_number, with_contact_details
from journeymap.pii_scan import normalize_needle, scan_files, scan_tables
from journeymap.privacy import (
    KEY_ENV,
    MissingPseudonymKeyError,
    ensure_demo_key,
    luhn_valid,
    mask_text,
    pseudonym_key,
    pseudonymize,
)

KEY = b"0123456789abcdef0123"


def test_pseudonym_is_a_keyed_hash():
    first = pseudonymize("C0000001", KEY)
    assert first == pseudonymize("C0000001", KEY)
    assert len(first) == 32 and int(first, 16) >= 0
    assert first != pseudonymize("C0000002", KEY)
    assert first != pseudonymize("C0000001", b"another-key-of-20-chars")
    # HMAC-SHA256 of RFC 4231 test case 2, cut to 128 bits.
    rfc4231 = pseudonymize("what do ya want for nothing?", b"Jefe")
    assert rfc4231 == "5bdcc146bf60754e6a042426089575c7"
    assert pseudonymize(None, KEY) is None


@pytest.mark.parametrize("value", [None, "", "short"])
def test_missing_or_short_key_is_a_clear_error(value):
    env = {} if value is None else {KEY_ENV: value}
    with pytest.raises(MissingPseudonymKeyError, match=KEY_ENV):
        pseudonym_key(env)
    assert pseudonym_key({KEY_ENV: "x" * 16}) == b"x" * 16


def test_demo_key_is_made_once_private_and_announced(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    said = []
    key_file = tmp_path / "wh" / "demo_pseudonym.key"
    ensure_demo_key(key_file, said.append)
    key = os.environ[KEY_ENV]
    assert len(key) == 64 and key_file.read_text() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "generated a pseudonymization key" in said[0] and key not in said[0]
    monkeypatch.delenv(KEY_ENV)
    ensure_demo_key(key_file, said.append)
    assert os.environ[KEY_ENV] == key  # the same key on the next demo run


def test_planted_contact_details_are_masked():
    card = planted_card_number("C0000042")
    assert luhn_valid(card.replace(" ", "")) and card.startswith("4000")
    contact = ("C0000042", "c0000042@example.com", "+15550000041")
    bodies = [with_contact_details("hi", f"msg_{i:016x}", *contact) for i in range(400)]
    planted = [b for b in bodies if b != "hi"]
    assert 8 <= len(planted) <= 30  # about 1 in 25
    for detail in (contact[1], contact[2], card):
        assert any(b.endswith(f" {detail}.") for b in planted), detail
    for body in planted:
        masked = mask_text(body)
        assert "example.com" not in masked and "5550000041" not in masked
        assert card not in masked


def test_scan_tables_finds_values_outside_private_schemas_only():
    con = duckdb.connect()
    con.execute("create schema raw; create schema marts")
    con.execute("create table raw.contacts as select 'C0000001' as id, 'a@x.io' as email")
    con.execute(
        "create table marts.messages as select * from (values "
        "('call +1555 000 0001 or write A@X.IO.', 1), ('card 4000-1234-5678-9010 please', 2), "
        "('nothing here', 3), ('XC0000001', 4)) as t(body, n)"
    )
    con.execute("create view marts.v as select n as customer_id from marts.messages")
    # A value repeated in a column counts once per row it is in.
    con.execute("create table marts.repeated as select 'A@x.io' as email from range(3)")
    needles = ["C0000001", "a@x.io", "+15550000001", "4000 1234 5678 9010"]
    hits = {hit.where: hit.count for hit in scan_tables(con, needles)}
    # 'XC0000001' is another token, not the id; the raw table is not scanned.
    # In the messages: the phone, the email, the card.
    assert hits == {"marts.messages.body": 3, "marts.repeated.email": 3}
    assert normalize_needle(" 4000 1234-5678 9010 ") == "4000123456789010"
    assert normalize_needle("+1 (555) 000-0001") == "15550000001"
    phone_hits = scan_tables(con, ["+15550000001"])
    assert [(h.where, h.count) for h in phone_hits] == [("marts.messages.body", 1)]


def test_scan_files_reads_tokens_across_chunk_edges(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(b"\x00" * ((1 << 24) - 5) + b"c0000001@example.com\x00 C0000002 .")
    hits = scan_files([path], ["c0000001@EXAMPLE.com", "C0000002"])
    assert [(h.where, h.count) for h in hits] == [(str(path), 2)]
    assert scan_files([path], ["c0000003@example.com"]) == []


def test_forget_command_errors_are_clear(tmp_path, monkeypatch, capsys):
    from journeymap.cli import main

    monkeypatch.setenv("JOURNEYMAP_DUCKDB_PATH", str(tmp_path / "warehouse" / "j.duckdb"))
    assert main(["forget"]) == 1
    assert "give --customer ID or --email ADDRESS" in capsys.readouterr().err
    monkeypatch.setenv("JOURNEYMAP_TARGET", "snowflake")
    assert main(["forget", "--customer", "C0000001"]) == 1
    assert "erases from a DuckDB warehouse; this project's warehouse is snowflake" in (
        capsys.readouterr().err
    )
    monkeypatch.delenv("JOURNEYMAP_TARGET")
    monkeypatch.delenv(KEY_ENV, raising=False)
    assert main(["forget", "--customer", "C0000001"]) == 1
    assert f"{KEY_ENV} is not set" in capsys.readouterr().err


def test_snowflake_udfs_run_the_code_duckdb_runs():
    """The secure Python UDFs created on Snowflake, parsed as Snowflake SQL and run as the
    emulator runs them (its body in Python), give the pseudonyms and masks of DuckDB's."""
    import sqlglot

    from journeymap.privacy import SQL_FUNCTIONS, snowflake_udf_statements
    from tests.snowflake.emulator import _python_udf

    statements = snowflake_udf_statements(KEY)
    assert len(statements) == len(SQL_FUNCTIONS)
    assert all(s.startswith("create or replace secure function") for s in statements)
    text = "Call me on +44 7700 900123 or write to a.person@example.com, card 4111 1111 1111 1111"
    database = duckdb.connect()
    for statement in snowflake_udf_statements(b"another-key-0123456789"):
        _python_udf(database, sqlglot.parse_one(statement, read="snowflake"))
    for statement in statements:  # "or replace" replaces
        _python_udf(database, sqlglot.parse_one(statement, read="snowflake"))
    session = database.cursor()  # a session's connection calls them
    row = session.execute(
        "select journeymap_pseudonym('C0000001'), journeymap_pseudonym(null), journeymap_mask(?)",
        [text],
    ).fetchone()
    assert row == (pseudonymize("C0000001", KEY), None, mask_text(text))
    assert row[2] == "Call me on [phone] or write to [email], card [card]"


def test_a_changed_key_stops_the_build_before_pseudonyms_mix(tmp_path, monkeypatch):
    """The first build records the key's fingerprint; the same key builds again; another key
    is a clear error before dbt runs (nothing written), and the recorded key still builds."""
    from journeymap.privacy import KEY_TABLE, PseudonymKeyChangedError
    from journeymap.settings import Settings
    from journeymap.transform import prepare_warehouse

    settings = Settings.for_workspace(tmp_path)
    monkeypatch.setenv(KEY_ENV, "the-original-key-0123456789")
    prepare_warehouse(settings, ["build"])
    prepare_warehouse(settings, ["build", "--select", "staging"])
    monkeypatch.setenv(KEY_ENV, "a-different-key-0123456789")
    prepare_warehouse(settings, ["parse"])  # builds nothing: not checked
    with pytest.raises(PseudonymKeyChangedError, match=f"{KEY_ENV} is not the key this"):
        prepare_warehouse(settings, ["build"])
    monkeypatch.setenv(KEY_ENV, "the-original-key-0123456789")
    prepare_warehouse(settings, ["run"])
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        recorded = con.execute(f"select fingerprint from raw.{KEY_TABLE}").fetchall()
    assert len(recorded) == 1 and "the-original-key" not in recorded[0][0]


def test_a_second_run_stops_with_a_clear_message_while_one_writes(tmp_path):
    """The run lock: held by one run (another process here), a second run of the same
    installation (a Dagster job, forget) stops at once naming it; the lock goes with its
    holder, also when the holder is killed."""
    import signal
    import subprocess
    import sys

    from journeymap.orchestration.run import run_job
    from journeymap.settings import Settings
    from journeymap.warehouse import WarehouseBusyError, run_lock

    settings = Settings.for_workspace(tmp_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from journeymap.settings import Settings; "
            "from journeymap.warehouse import run_lock; "
            f"s = Settings.for_workspace({str(tmp_path)!r}); "
            "lock = run_lock(s, 'the Dagster job journeymap_full'); lock.__enter__(); "
            "print('holding', flush=True); time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout.readline().strip() == b"holding"
        busy = rf"is being written by the Dagster job journeymap_full \(pid {holder.pid}\)"
        with pytest.raises(WarehouseBusyError, match=busy):
            run_job(settings, "journeymap_full", say=lambda _: None)
        from journeymap.erasure import forget

        with pytest.raises(WarehouseBusyError, match=busy):
            forget(settings, customer_id="C0000001", say=lambda _: None)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with run_lock(settings, "the next run"):  # released by the killed holder's end
        pass


@pytest.mark.parametrize("many", [False, True])
def test_scan_files_counts_alike_for_few_and_many_needles(tmp_path, many):
    """Few needles are searched with one expression, many looked up token by token: the same
    hits either way, also for a phone written with spaces, a trailing full stop, an id inside
    a longer id, and hits on both sides of the 16 MiB chunk edge."""
    text = (
        b"x" * ((1 << 24) - 3000)
        + b", call +44 7700 900123 or A.Person@Example.com. id XC0000001 and C0000001-"
        + b" a" * 2000
        + b" c0000001"
    )
    path = tmp_path / "blob.txt"
    path.write_bytes(text)
    sought = ["+44 7700 900123", "a.person@example.com", "C0000001"]
    if many:
        sought += [f"D{i:07d}" for i in range(100)]
    assert [(h.where, h.count) for h in scan_files([path], sought)] == [(str(path), 4)]
