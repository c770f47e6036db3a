"""``/healthz`` and ``/metrics``: what load balancers and Prometheus poll."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from api.dependencies import EngineDep, require_read_token
from api.routes import error_responses
from api.schemas import Health

router = APIRouter(
    tags=["service"],
    dependencies=[Depends(require_read_token)],
    responses=error_responses(401),
)


@router.get("/healthz", response_model=Health, summary="Liveness and what index is served")
def healthz(engine: EngineDep) -> Health:
    stats = engine.store.stats()
    return Health(
        status="ok",
        documents=stats.documents,
        chunks=stats.chunks,
        embedder=engine.embedder.name,
        index_version=stats.version,
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    summary="Prometheus metrics (text format)",
)
def metrics(request: Request) -> Response:
    registry = request.app.state.metrics
    return Response(registry.render(), media_type=registry.content_type)
