"""The summary after `make demo`: a line per persona card, nothing before the cards exist."""

from __future__ import annotations

from journeymap.summary import _persona_lines
from journeymap.warehouse import DuckDBWarehouse


def test_a_line_per_persona_biggest_first_and_none_before_the_cards(tmp_path):
    with DuckDBWarehouse(tmp_path / "w.duckdb") as warehouse:
        assert _persona_lines(warehouse) == []  # no enriched.dim_personas yet
        warehouse.execute("create schema enriched")
        warehouse.execute(
            """
            create table enriched.dim_personas as select * from (values
                (1, 'Price checkers', 120, 0.3, 0.14, 85.4, '24% of their activity is pricing'),
                (2, 'Content readers', 280, 0.7, null, null, null)
            ) as t(segment_id, persona_name, customers, share, mean_churn_score,
                   mean_predicted_value, difference_1)
            """
        )
        lines = _persona_lines(warehouse)
    assert lines[1].startswith("Who the customers are")
    assert lines[2].split() == ["Content", "readers", "280", "70.0%", "n/a", "n/a"]
    assert lines[3].split()[:7] == ["Price", "checkers", "120", "30.0%", "14.0%", "85", "24%"]
