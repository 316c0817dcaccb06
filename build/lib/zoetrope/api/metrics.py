"""`/metrics` in Prometheus text format: queue depth (read from the store on each scrape), job
latency, dispatch latency and step time (recorded by the workers of this process, or of its worker
process: with `PROMETHEUS_MULTIPROC_DIR` set, what every process of the folder recorded)."""

from __future__ import annotations

import os

from fastapi import APIRouter, Depends, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    generate_latest,
    multiprocess,
)

from zoetrope.api.deps import Services, services
from zoetrope.db import transaction
from zoetrope.jobs import store
from zoetrope.jobs.models import LANES, STATUSES

QUEUE_DEPTH = Gauge(
    "zoetrope_jobs", "Live jobs by status and lane", ["status", "lane"], multiprocess_mode="livemostrecent"
)

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
def metrics(svc: Services = Depends(services)) -> Response:
    with transaction(svc.engine) as s:
        counts = store.count_by_status(s)
    for status in STATUSES:
        for lane in LANES:
            QUEUE_DEPTH.labels(status, lane).set(counts.get((status, lane), 0))
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
