"""Property-based fuzzing of the OpenAPI schema (schemathesis): no input makes the server fail.

Every operation gets schema-valid (positive) and schema-violating (negative) requests, bounded
to a few dozen examples each with a fixed seed and no deadline, so the run is short and the
same on every machine. Each response must be a non-5xx, with a status, content type and body
that the schema documents. The document id gets a run of its own with ids drawn from every
kind of character (surrogates, format and control characters, combining marks), which the
schema's generator never produces.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from rag.engine import RagEngine
from rag.errors import InvalidQueryError
from rag.ingest.ids import normalize_doc_id

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def fuzzing(examples: int) -> settings:
    """Hypothesis settings of every run here: ``examples`` cases, the same on every machine."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def _operations(app: object) -> dict[str, schemathesis.APIOperation]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return {op.label: op for op in (r.ok() for r in schema.get_all_operations())}


# One test per operation and mode, so that xdist can spread them over the workers. The schema
# does not depend on the index: read from an app that is never started, it opens none.
OPERATIONS = sorted(
    op.ok().label
    for op in schemathesis.openapi.from_dict(create_app().openapi()).get_all_operations()
)


def test_every_operation_is_fuzzed() -> None:
    assert len(OPERATIONS) == 12


@pytest.mark.parametrize("label", OPERATIONS)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_request_gets_a_5xx_or_an_undocumented_answer(
    hash_engine: RagEngine, mode: GenerationMode, label: str
) -> None:
    # Built here rather than with schemathesis' pytest plugin: its lazy fixture loader does
    # not work with this pytest version.
    operation = _operations(create_app(engine=hash_engine))[label]

    @given(case=operation.as_strategy(generation_mode=mode))
    @fuzzing(15)
    def fuzz(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=CHECKS)

    fuzz()


# Letters, marks (NFD accents), digits, punctuation, symbols, spaces, and the characters an id
# must not keep or hold: controls (Cc), format characters such as U+200B (Cf), surrogates (Cs).
ID_CHARACTERS = st.characters(categories=["L", "M", "N", "P", "S", "Zs", "Cc", "Cf", "Cs"])
IDS = st.text(ID_CHARACTERS, min_size=1, max_size=12)


def ids(engine: RagEngine) -> set[str]:
    return {a.doc_id for a in engine.documents(0, 1_000_000)[1]}


def test_document_ids_of_any_characters_are_stored_normalised_or_refused(
    hash_engine: RagEngine,
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(engine=hash_engine))
    operation = schema["/documents"]["POST"]

    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE), doc_id=IDS)
    @fuzzing(80)
    def fuzz(case: schemathesis.Case, doc_id: str) -> None:
        # The JSON body: a multipart upload cannot carry a lone surrogate (its client cannot
        # encode one); uploads' ids are tested in test_api_upload.py.
        assume(case.media_type == "application/json")
        case.body = {**case.body, "id": doc_id}
        before = ids(hash_engine)
        response = case.call_and_validate(checks=CHECKS)
        try:
            expected: str | None = normalize_doc_id(doc_id)
        except InvalidQueryError:
            expected = None
        if response.status_code == 201:
            assert expected is not None and response.json()["id"] == expected
            assert hash_engine.document(doc_id).doc_id == expected
        else:
            # Refused: a bad id, or a title or text with nothing visible; nothing changed.
            assert response.status_code in (400, 422), response.text
            assert ids(hash_engine) == before

    fuzz()
