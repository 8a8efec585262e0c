"""The dbt project as assets: every seed and model one asset, every dbt test an asset check.

Asset keys follow the warehouse: ``<schema>/<name>`` (``staging/stg_tracking__web_events``,
``marts/fct_events``, ``enriched/dim_customer_360``, ``seeds/event_taxonomy``). dbt sources map
to the assets that write them, so the graph has no loose ends:

* ``source('tracking', 'web_events')`` and the other raw sources -> ``raw/<table>`` (raw.py);
* ``source('loader', ...)`` (ledger and quarantine, written by every raw load) -> all raw assets;
* ``source('ml', <table>)`` -> ``ml/<table>``, the Python model that writes it (ml.py);
* ``stg_project__events`` reads the raw tables of the project's own event sources (not dbt
  sources: they come from journeymap.yml) -> it depends on their ``raw/<source>`` assets.

Two ``dbt build`` steps, plain dagster-dbt selections around the Python models:

* ``dbt_core``: everything but ``models/enriched`` (seeds, staging, intermediate, marts);
* ``dbt_enriched``: ``models/enriched``, which reads the ``ml`` sources and the core marts.

The Python models read core marts and write ``ml.<table>``; nothing in the core reads ``ml``,
so the graph has no cycle.
"""

import json
from collections.abc import Mapping
from typing import Any, Literal

from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Config,
    ResourceParam,
)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject, dbt_assets

from journeymap.orchestration.keys import (
    LOADER_TABLES,
    ML_SOURCE,
    PROJECT_EVENTS_MODEL,
    RAW_KEYS,
    ml_key,
    raw_key,
)
from journeymap.orchestration.project import step_vars
from journeymap.orchestration.resources import JourneymapDbtResource, run_query_tag
from journeymap.settings import Settings
from journeymap.transform import prepare_warehouse

ENRICHED = "path:models/enriched"
# The op names of the two dbt steps.
DBT_STEPS = ("dbt_core", "dbt_enriched")


class JourneymapTranslator(DagsterDbtTranslator):
    def __init__(
        self, settings: DagsterDbtTranslatorSettings, project_sources: tuple[str, ...] = ()
    ) -> None:
        super().__init__(settings=settings)
        # The raw assets of the project's event sources that land files (journeymap.yml).
        self.project_raw_keys = [raw_key(name) for name in project_sources]

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        name = dbt_resource_props["name"]
        if dbt_resource_props["resource_type"] == "source":
            if dbt_resource_props["source_name"] == ML_SOURCE:
                return ml_key(name)
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
        if manifest["nodes"].get(unique_id, {}).get("name") == PROJECT_EVENTS_MODEL:
            deps = [*spec.deps, *(AssetDep(key) for key in self.project_raw_keys)]
            return spec.replace_attributes(deps=deps)
        loader_keys = {AssetKey(["raw", table]) for table in LOADER_TABLES}
        if not any(dep.asset_key in loader_keys for dep in spec.deps):
            return spec
        # The loader's ledger and quarantine are written by every raw load.
        deps = [dep for dep in spec.deps if dep.asset_key not in loader_keys]
        deps += [AssetDep(key) for key in [*RAW_KEYS.values(), *self.project_raw_keys]]
        return spec.replace_attributes(deps=deps)


# dbt tests on models and seeds are asset checks. Tests on dbt *sources* are not
# (enable_source_tests_as_checks stays off): a step that holds checks on an upstream asset is
# exempt from waiting for that asset's other blocking checks, so source tests as checks in the
# dbt step would let dbt run before the Great Expectations raw suites (checks.py) have passed.
# The source tests still run inside `dbt build` (indirect selection), and the raw suites check
# the same keys and more.
TRANSLATOR_SETTINGS = DagsterDbtTranslatorSettings(
    enable_asset_checks=True,
    enable_source_tests_as_checks=False,
)


class DbtBuildConfig(Config):
    """Run config of a dbt step. ``test_scope`` is the dbt var of that name: ``all`` tests
    every row; ``changed`` tests, on incremental models, only the rows this run wrote
    (macros/test_scope.sql). The daily schedule uses ``changed`` except on Sundays.
    ``full_refresh`` rebuilds incremental models from scratch."""

    test_scope: Literal["all", "changed"] = "all"
    full_refresh: bool = False

    def build_args(self) -> list[str]:
        args = ["build", "--vars", json.dumps(step_vars(self.test_scope))]
        return [*args, "--full-refresh"] if self.full_refresh else args


def dbt_run_config(test_scope: str = "all", full_refresh: bool = False) -> dict[str, Any]:
    """Run config that sets the same dbt options for both dbt steps of a job."""
    config = {"test_scope": test_scope, "full_refresh": full_refresh}
    return {"ops": {step: {"config": config} for step in DBT_STEPS}}


def build_dbt_assets(
    project: DbtProject, project_sources: tuple[str, ...] = ()
) -> list[AssetsDefinition]:
    """The two dbt steps of ``project`` (its manifest must exist: project.py prepares it);
    ``project_sources``: the project's event sources that land files."""
    translator = JourneymapTranslator(TRANSLATOR_SETTINGS, project_sources)

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=translator,
        exclude=ENRICHED,
        name="dbt_core",
    )
    def dbt_core(
        context: AssetExecutionContext,
        dbt: JourneymapDbtResource,
        config: DbtBuildConfig,
        settings: ResourceParam[Settings],
    ):
        """``dbt build`` of seeds, staging, intermediate models and the core marts (on
        Snowflake after creating the privacy functions staging calls)."""
        prepare_warehouse(settings, config.build_args(), run_query_tag(context))
        yield from dbt.cli(config.build_args(), context=context).stream()

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=translator,
        select=ENRICHED,
        name="dbt_enriched",
    )
    def dbt_enriched(
        context: AssetExecutionContext, dbt: JourneymapDbtResource, config: DbtBuildConfig
    ):
        """``dbt build`` of the enriched marts: the ML models' output joined with the marts."""
        yield from dbt.cli(config.build_args(), context=context).stream()

    return [dbt_core, dbt_enriched]
