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
    snap = engine.snapshot
    return Health(
        status="ok",
        documents=len(snap.articles),
        chunks=len(snap.chunks),
        embedder=engine.embedder.name,
        index_version=snap.generation,
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
