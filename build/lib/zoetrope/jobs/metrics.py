"""Prometheus metrics the workers record (the API exposes them at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

JOB_LATENCY = Histogram(
    "zoetrope_job_latency_seconds",
    "Submit to completion of a job",
    ["model", "status"],
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800),
)
DISPATCH_LATENCY = Histogram(
    "zoetrope_dispatch_latency_seconds",
    "Submit to the moment a worker claims the job",
    ["lane"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
STEP_TIME = Histogram(
    "zoetrope_step_seconds",
    "Time between two progress steps of a backend",
    ["model"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
)
JOBS_FINISHED = Counter("zoetrope_jobs_finished_total", "Jobs finished by this process", ["model", "status"])
PROMPT_EMBEDDER = Gauge(
    "zoetrope_prompt_embedder_ready",
    "1 while a child process reads new prompts for moderation (zoetrope.jobs.embedder), else 0",
    multiprocess_mode="livemax",
)
