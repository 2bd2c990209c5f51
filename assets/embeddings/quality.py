"""Vector quality (seed 004): the checks on each space of vectors, as plain functions over a cursor.

- dimensions: the column is `vector(<space dimension>)`, and every row's vector and recorded
  dimension match it;
- zero_vectors: no vector of norm 0 (an empty or failed embedding);
- norms: every (non-zero) vector is unit length within 1e-2 (the providers normalise);
- duplicates: vectors shared by rows of different texts, at most 1% of rows (identical texts
  share a vector by right; different texts with the same vector mean a broken batch);
- coverage: at least 99% of the rows with a text have a vector of their current text.
"""

from __future__ import annotations

from dataclasses import dataclass

from resources.embeddings.store import Space

NORM_TOLERANCE = 1e-2
MAX_DUPLICATE_RATE = 0.01
MIN_COVERAGE = 0.99
CHECKS = ("dimensions", "zero_vectors", "norms", "duplicates", "coverage")


@dataclass(frozen=True)
class Verdict:
    name: str
    passed: bool
    description: str
    metadata: dict


def vector_checks(cur, space: Space, rows_with_text: int, current: int) -> list[Verdict]:
    """Every check but coverage reads the space's table; coverage takes the plan's counts."""
    cur.execute(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = %s::regclass "
        "AND attname = 'embedding'",
        (space.table_name,),
    )
    declared = cur.fetchone()[0]
    cur.execute(
        f"""
        SELECT count(*),
               count(*) FILTER (WHERE vector_dims(embedding) <> %(d)s OR dimension <> %(d)s),
               count(*) FILTER (WHERE vector_norm(embedding) = 0),
               count(*) FILTER (WHERE vector_norm(embedding) > 0
                                  AND abs(vector_norm(embedding) - 1) > %(tol)s),
               min(vector_norm(embedding)), max(vector_norm(embedding))
        FROM {space.table_name}
        """,
        {"d": space.dimension, "tol": NORM_TOLERANCE},
    )
    total, wrong_dims, zeros, off_norm, min_norm, max_norm = cur.fetchone()
    cur.execute(
        f"""
        SELECT coalesce(sum(n), 0), count(*) FROM (
            SELECT count(*) AS n FROM {space.table_name}
            GROUP BY embedding HAVING count(DISTINCT text_sha256) > 1
        ) AS shared
        """
    )
    duplicated_rows, shared_vectors = (int(n) for n in cur.fetchone())
    duplicate_rate = duplicated_rows / total if total else 0.0
    coverage = current / rows_with_text if rows_with_text else 1.0
    expected = f"vector({space.dimension})"
    return [
        Verdict(
            "dimensions",
            declared == expected and wrong_dims == 0,
            f"column {declared} (expected {expected}); {wrong_dims} of {total} vectors of another dimension",
            {"declared": declared, "expected": expected, "wrong_dimension_rows": wrong_dims, "rows": total},
        ),
        Verdict("zero_vectors", zeros == 0, f"{zeros} zero vectors of {total}", {"zero_vectors": zeros}),
        Verdict(
            "norms",
            off_norm == 0,
            f"{off_norm} vectors with a norm outside 1 ± {NORM_TOLERANCE}",
            {
                "off_norm_rows": off_norm,
                "min_norm": float(min_norm or 0),
                "max_norm": float(max_norm or 0),
            },
        ),
        Verdict(
            "duplicates",
            duplicate_rate <= MAX_DUPLICATE_RATE,
            f"{duplicated_rows} rows share {shared_vectors} vectors with rows of another text "
            f"({duplicate_rate:.2%}; at most {MAX_DUPLICATE_RATE:.0%})",
            {"duplicate_rows": int(duplicated_rows), "duplicate_rate": round(duplicate_rate, 4)},
        ),
        Verdict(
            "coverage",
            coverage >= MIN_COVERAGE,
            f"{current} of {rows_with_text} rows have a vector of their current text "
            f"({coverage:.1%}; at least {MIN_COVERAGE:.0%})",
            {"rows_with_text": rows_with_text, "current": current, "coverage": round(coverage, 4)},
        ),
    ]
