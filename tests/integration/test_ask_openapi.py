"""Schemathesis against the ask service's own OpenAPI document: generated requests, valid and
not, with a real key over the real marts. No 5xx; every status and body as documented.

Driven through Hypothesis directly (`operation.as_strategy()`): schemathesis' pytest plugin does not
load under pytest 9."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ask.app import create_app
from tests.helpers import bearer

pytestmark = pytest.mark.slow

CASES_PER_OPERATION = 30


@pytest.fixture(scope="module")
def ask_app(built_db):
    app = create_app(lambda: built_db)
    yield app
    app.state.database.close()


def operations():
    # The document needs no database: read it from an app that never connects.
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(lambda: None))  # type: ignore[arg-type]
    return sorted(f"{op.ok().method.upper()} {op.ok().path}" for op in schema.get_all_operations())


@pytest.mark.parametrize("label", operations())
def test_no_generated_request_gets_a_server_error(ask_app, ask_key, label):
    schema = schemathesis.openapi.from_asgi("/openapi.json", ask_app)
    method, path = label.split(" ", 1)
    operation = schema[path][method]
    checked = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=CASES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def call(case):
        response = case.call(headers=bearer(ask_key))
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:500]}"
        )
        case.validate_response(
            response, checks=[status_code_conformance, content_type_conformance, response_schema_conformance]
        )
        checked.append(response.status_code)

    call()
    assert checked
