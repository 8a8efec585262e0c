"""Assets by domain: raw loads (raw.py), dbt models (dbt.py), ML (ml.py), report (report.py)."""
