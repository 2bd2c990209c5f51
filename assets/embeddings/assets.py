"""The embedding assets (group `embeddings`): ticket and ad vectors, incremental, with quality checks.

Thin over assets/embeddings/pipeline.py (what to embed, embedding, writing) and quality.py.
"""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    asset,
    multi_asset_check,
)

from assets.embeddings.pipeline import plan, run_embeddings
from assets.embeddings.quality import CHECKS, vector_checks
from resources.embeddings.resource import EmbeddingsResource
from resources.postgres import PostgresResource

TICKET_VECTORS = AssetKey(["embeddings", "ticket_vectors"])
AD_VECTORS = AssetKey(["embeddings", "ad_vectors"])
ENTITY_OF = {TICKET_VECTORS: "ticket", AD_VECTORS: "ad"}


def _materialize(context: AssetExecutionContext, database: PostgresResource, embeddings: EmbeddingsResource, entity):
    def progress(done: int, total: int) -> None:
        context.log.info(f"{entity}s: {done}/{total} embedded")

    outcome = run_embeddings(
        database.connect,
        embeddings.space_identity(),
        embeddings.get_embedder,
        entity,
        run_id=context.run_id,
        progress=progress,
    )
    context.log.info(
        f"{entity}s: {outcome.embedded} embedded, {outcome.skipped} unchanged, {outcome.removed} removed "
        f"({outcome.texts_per_second:.0f} texts/s) into {outcome.space}"
    )
    return MaterializeResult(metadata=outcome.metadata())


@asset(
    key=TICKET_VECTORS,
    group_name="embeddings",
    kinds={"python", "postgres", "pgvector"},
    deps=[AssetKey(["raw", "tickets"]), AssetKey(["raw", "ticket_comments"])],
    description="A vector per ticket (subject + description + latest comments), only for new or changed texts.",
)
def ticket_vectors(context: AssetExecutionContext, database: PostgresResource, embeddings: EmbeddingsResource):
    return _materialize(context, database, embeddings, "ticket")


@asset(
    key=AD_VECTORS,
    group_name="embeddings",
    kinds={"python", "postgres", "pgvector"},
    deps=[AssetKey(["raw", "ads"]), AssetKey(["raw", "ad_groups"]), AssetKey(["raw", "campaigns"])],
    description="A vector per ad (headlines, descriptions, campaign and ad group names), for new or changed texts.",
)
def ad_vectors(context: AssetExecutionContext, database: PostgresResource, embeddings: EmbeddingsResource):
    return _materialize(context, database, embeddings, "ad")


CHECK_DESCRIPTIONS = {
    "dimensions": "Every vector has the space's dimension (and the column is typed so).",
    "zero_vectors": "No zero vectors.",
    "norms": "Every vector is unit length (within 1e-2).",
    "duplicates": "At most 1% of rows share their vector with a row of another text.",
    "coverage": "At least 99% of rows with a text have a vector of their current text.",
}


@multi_asset_check(
    name="vector_quality",
    specs=[
        AssetCheckSpec(name, asset=key, description=CHECK_DESCRIPTIONS[name]) for key in ENTITY_OF for name in CHECKS
    ],
    can_subset=True,
    description="Vector quality (seed 004): dimensions, zero vectors, norms, duplicates, coverage.",
)
def vector_quality(context: AssetCheckExecutionContext, database: PostgresResource, embeddings: EmbeddingsResource):
    identity = embeddings.space_identity()
    selected = context.selected_asset_check_keys
    for key, entity in ENTITY_OF.items():
        wanted = {check.name for check in selected if check.asset_key == key}
        if not wanted:
            continue
        with database.connect() as conn:
            planned = plan(conn, identity, entity)
            with conn.cursor() as cur:
                verdicts = vector_checks(cur, planned.space, planned.rows, planned.current)
        for verdict in verdicts:
            if verdict.name in wanted:
                yield AssetCheckResult(
                    asset_key=key,
                    check_name=verdict.name,
                    passed=verdict.passed,
                    severity=AssetCheckSeverity.ERROR,
                    description=verdict.description,
                    metadata=verdict.metadata,
                )
