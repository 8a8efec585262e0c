"""dbt-duckdb plugin (profiles.yml `plugins`): the privacy functions staging calls.

Registers two SQL functions on dbt's DuckDB connection, both from journeymap.privacy so there is
one implementation of each rule:

* ``journeymap_pseudonym(text)``: the keyed pseudonym (HMAC-SHA256) of an identifier;
* ``journeymap_mask(text)``: free text with emails, card numbers and phone numbers masked.

The key is read from the environment when the first value is hashed, so it never appears in
compiled SQL, dbt's logs or its artifacts. On Snowflake the same names are secure UDFs (README,
"Privacy and data protection").
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from journeymap.privacy import register_privacy_functions


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:
        register_privacy_functions(conn)
