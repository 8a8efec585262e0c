"""The dbt project as assets: every seed and model one asset, every dbt test an asset check.

Asset keys follow the warehouse: ``<schema>/<name>`` (``staging/stg_tracking__web_events``,
``marts/fct_events``, ``seeds/event_taxonomy``). dbt sources map to the assets that write them,
so the graph has no loose ends:

* ``source('tracking', 'web_events')`` and the other raw sources -> ``raw/<table>`` (raw.py);
* ``source('loader', ...)`` (ledger and quarantine, written by every raw load) -> all raw assets;
* ``source('ml', 'churn_scores')`` -> ``ml/churn_scores`` (ml.py).

The last puts dbt both upstream (the marts the churn model reads) and downstream
(``stg_ml__churn_scores`` -> ``dim_customers``) of the churn asset. Dagster could split one
subsettable dbt multi-asset around it by itself when it builds a job (it colours the graph and
subsets multi-assets on a cycle), but it then also splits off the seeds (graph roots) into a third
``dbt build`` and names the steps ``journeymap_dbt_2``...: we split by selector instead, so a full
run is two ``dbt build`` steps with names that say what they hold:

* ``dbt_warehouse``: everything except ``source:ml+`` (seeds, staging, intermediate, marts);
* ``dbt_ml_consumers``: ``source:ml+`` (``stg_ml__churn_scores``, ``dim_customers``) and the
  tests that reference them, e.g. ``relationships`` from ``fct_events`` to ``dim_customers``.
"""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from dagster import AssetCheckSpec, AssetDep, AssetExecutionContext, AssetKey, AssetSpec, Config
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject, dbt_assets

from journeymap.orchestration.assets.raw import LOADER_TABLES, RAW_KEYS
from journeymap.orchestration.project import dbt_project
from journeymap.orchestration.resources import JourneymapDbtResource

# The dbt source the ML assets write (every other source is a raw table).
ML_SOURCE = "ml"


class JourneymapTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        name = dbt_resource_props["name"]
        if dbt_resource_props["resource_type"] == "source":
            source = dbt_resource_props["source_name"]
            if source == ML_SOURCE:
                return AssetKey([ML_SOURCE, name])
            return AssetKey(["raw", name])
        schema = dbt_resource_props.get("config", {}).get("schema") or dbt_resource_props["schema"]
        return AssetKey([schema, name])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        config = dbt_resource_props.get("config", {})
        return config.get("schema") or dbt_resource_props["fqn"][1]

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        loader_keys = {AssetKey(["raw", table]) for table in LOADER_TABLES}
        if not any(dep.asset_key in loader_keys for dep in spec.deps):
            return spec
        # The loader's ledger and quarantine are written by every raw load.
        deps = [dep for dep in spec.deps if dep.asset_key not in loader_keys]
        deps += [AssetDep(key) for key in RAW_KEYS.values()]
        return spec.replace_attributes(deps=deps)

    def get_asset_check_spec(
        self,
        asset_spec: AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: DbtProject | None,
    ) -> AssetCheckSpec | None:
        """dbt tests of severity error are blocking checks, except a test that also reads a model
        that is not upstream of the model it is attached to (``relationships`` from ``fct_events``
        to ``dim_customers``): blocking on it would hold ``fct_events``' readers (the churn model)
        until ``dim_customers`` is built, which itself waits for the churn model. Such a test runs
        in the dbt step that builds its last parent, and a failure still fails that step."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or not spec.blocking or not spec.additional_deps:
            return spec
        target = _check_target(manifest, unique_id)
        upstream = {
            self.get_asset_spec(manifest, node_id, project).key
            for node_id in (_ancestors(manifest, target) if target else ())
        }
        if all(dep.asset_key in upstream for dep in spec.additional_deps):
            return spec
        return AssetCheckSpec(
            name=spec.name,
            asset=spec.asset_key,
            description=spec.description,
            additional_deps=spec.additional_deps,
            metadata=spec.metadata,
            blocking=False,
        )


def _check_target(manifest: Mapping[str, Any], test_id: str) -> str | None:
    """The node a test's check is on: ``meta.dagster.ref`` when set, else dbt's attached node."""
    test = manifest["nodes"][test_id]
    ref = test.get("config", {}).get("meta", {}).get("dagster", {}).get("ref", {}).get("name")
    if ref:
        for unique_id in test["depends_on"]["nodes"]:
            if manifest["nodes"].get(unique_id, {}).get("name") == ref:
                return unique_id
    return test.get("attached_node")


def _reachable(edges: Mapping[str, list[str]], start_ids: set[str]) -> set[str]:
    """Every node reachable from ``start_ids`` along ``edges`` (tests excluded)."""
    seen: set[str] = set()
    stack = [node_id for start in start_ids for node_id in edges.get(start, [])]
    while stack:
        node_id = stack.pop()
        if node_id in seen or node_id.startswith("test."):
            continue
        seen.add(node_id)
        stack.extend(edges.get(node_id, []))
    return seen


def _ancestors(manifest: Mapping[str, Any], unique_id: str) -> set[str]:
    """Every node ``unique_id`` reads from, directly or not (tests excluded)."""
    return _reachable(manifest["parent_map"], {unique_id})


# dbt tests on models and seeds are asset checks. Tests on dbt *sources* are not
# (enable_source_tests_as_checks stays off): a step that holds checks on an upstream asset is
# exempt from waiting for that asset's other blocking checks, so source tests as checks in the
# dbt step would let dbt run before the Great Expectations raw suites (checks.py) have passed.
# The source tests still run inside `dbt build` (indirect selection), and the raw suites check
# the same keys and more.
translator = JourneymapTranslator(
    settings=DagsterDbtTranslatorSettings(
        enable_asset_checks=True,
        enable_source_tests_as_checks=False,
    )
)


# Models that read what the ML assets write, and everything downstream of them (with their
# tests). Built after the ML assets; the rest of the project is built before them.
ML_CONSUMERS = f"source:{ML_SOURCE}+"


def _descendants(manifest: Mapping[str, Any], unique_ids: set[str]) -> set[str]:
    """Every node that reads from ``unique_ids``, directly or not (tests excluded)."""
    return _reachable(manifest["child_map"], unique_ids)


def load_manifest(path: Path) -> dict[str, Any]:
    """The dbt manifest, with tests that span both dbt steps attached to their later model.

    A test attached to a model built before the ML assets that also reads a model built after
    them (``relationships`` from ``fct_events.customer_key`` to ``dim_customers``) can only run
    in the second step. dagster-dbt makes a check on the attached model, which the second step
    does not hold, so the check would be lost; here it is attached to the later model instead
    (dagster-dbt's ``meta.dagster.ref``), i.e. ``marts/dim_customers:relationships_fct_events_...``.
    """
    manifest = json.loads(path.read_text())
    ml_sources = {
        unique_id
        for unique_id, source in manifest["sources"].items()
        if source["source_name"] == ML_SOURCE
    }
    later = _descendants(manifest, ml_sources)
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or node.get("attached_node") in later:
            continue
        later_parents = [p for p in node["depends_on"]["nodes"] if p in later]
        if not later_parents:
            continue
        meta = node.setdefault("config", {}).setdefault("meta", {})
        target = manifest["nodes"][later_parents[0]]
        meta.setdefault("dagster", {})["ref"] = {"name": target["name"]}
    return manifest


manifest = load_manifest(dbt_project.manifest_path)

# The op names of the two dbt steps (the `name` of each dbt_assets below).
DBT_STEPS = ("dbt_warehouse", "dbt_ml_consumers")


class DbtBuildConfig(Config):
    """Run config of a dbt step. ``test_scope`` is the dbt var of that name: ``all`` tests
    every row; ``changed`` tests, on incremental models, only the rows this run wrote
    (macros/test_scope.sql). The daily schedule uses ``changed`` except on Sundays."""

    test_scope: Literal["all", "changed"] = "all"

    def build_args(self) -> list[str]:
        return ["build", "--vars", json.dumps({"test_scope": self.test_scope})]


def dbt_run_config(test_scope: str) -> dict[str, Any]:
    """Run config that sets ``test_scope`` for both dbt steps of a job."""
    return {"ops": {step: {"config": {"test_scope": test_scope}} for step in DBT_STEPS}}


@dbt_assets(
    manifest=manifest,
    project=dbt_project,
    dagster_dbt_translator=translator,
    exclude=ML_CONSUMERS,
    name="dbt_warehouse",
)
def dbt_warehouse(
    context: AssetExecutionContext, dbt: JourneymapDbtResource, config: DbtBuildConfig
):
    """``dbt build`` of seeds, staging, intermediate models and the marts the ML assets read."""
    yield from dbt.cli(config.build_args(), context=context).stream()


@dbt_assets(
    manifest=manifest,
    project=dbt_project,
    dagster_dbt_translator=translator,
    select=ML_CONSUMERS,
    name="dbt_ml_consumers",
)
def dbt_ml_consumers(
    context: AssetExecutionContext, dbt: JourneymapDbtResource, config: DbtBuildConfig
):
    """``dbt build`` of the models that join ML results back (``stg_ml__churn_scores`` ->
    ``dim_customers``), with their tests and the tests that reference them."""
    yield from dbt.cli(config.build_args(), context=context).stream()


dbt_assets_defs = [dbt_warehouse, dbt_ml_consumers]
