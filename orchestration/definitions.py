"""The one Dagster code location: `dagster dev` in the repo root loads it via workspace.yaml.

Resources are bound here, once, from the settings (resources/settings.py). `build_definitions`
takes the few values the CLI may override for one invocation (`burry demo --end-date`), so they
travel as arguments, never through the environment.
"""

from dagster import Definitions

from assets.ads.extract import extract_ad_account
from assets.ads.quality import raw_ad_expectations
from assets.dbt.assets import dbt_models
from assets.embeddings.assets import ad_vectors, ticket_vectors, vector_quality
from assets.imports.drop_folder import import_dropped_files
from assets.prompts.assets import prompt_snapshots, prompt_templates, served_prompts
from assets.tickets.extract import extract_tickets
from assets.tickets.quality import raw_ticket_expectations
from orchestration.jobs import (
    ad_accounts_every_6_hours,
    embed_tickets_and_ads,
    embeddings_nightly,
    extract_ads,
    import_files,
    marts_every_6_hours,
    prompts_after_marts,
    rebuild_marts,
    refresh_prompts,
    refresh_tickets_and_marts,
)
from resources import settings
from resources.ads.source import AdSourceResource
from resources.dbt import BurryDbtResource, dbt_executable, dbt_project
from resources.embeddings.resource import EmbeddingsResource
from resources.postgres import PostgresResource
from resources.tickets.source import TicketSourceResource
from sensors.accounts import ad_account_registry
from sensors.imports import drop_folder
from sensors.runs import refresh_job_sweeper


def build_definitions(demo_end_date: str | None = None) -> Definitions:
    """`demo_end_date` (YYYY-MM-DD): the demo sources' last day; default BURRY_DEMO_END_DATE, else yesterday."""
    database = PostgresResource()
    return Definitions(
        assets=[
            extract_ad_account,
            extract_tickets,
            import_dropped_files,
            dbt_models,
            ticket_vectors,
            ad_vectors,
            prompt_templates,
            prompt_snapshots,
            served_prompts,
        ],
        asset_checks=[raw_ad_expectations, raw_ticket_expectations, vector_quality],
        jobs=[
            extract_ads,
            import_files,
            refresh_tickets_and_marts,
            rebuild_marts,
            embed_tickets_and_ads,
            refresh_prompts,
        ],
        schedules=[ad_accounts_every_6_hours, marts_every_6_hours, embeddings_nightly],
        sensors=[ad_account_registry, drop_folder, refresh_job_sweeper, prompts_after_marts],
        resources={
            "database": database,
            # Sources swap by configuration: `demo` (deterministic synthetic data) until real ones are set.
            "ad_source": AdSourceResource(kind=settings.ad_source_kind(), demo_end_date=demo_end_date),
            # Embeddings: local sentence-transformers unless BURRY_EMBEDDING_PROVIDER says otherwise.
            "embeddings": EmbeddingsResource(provider=settings.embedding_provider(), model=settings.embedding_model()),
            "ticket_source": TicketSourceResource(kind=settings.ticket_source_kind(), demo_end_date=demo_end_date),
            # DbtCliResource.__init__ takes a DbtProject; the pydantic plugin types the subclass's by the str field.
            "dbt": BurryDbtResource(
                project_dir=dbt_project,  # type: ignore[arg-type]
                dbt_executable=dbt_executable(),
                database=database,
            ),
        },
    )


defs = build_definitions()
