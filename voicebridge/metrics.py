"""Prometheus metrics of one ``serve`` process, in its own registry (no global state)."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http_requests = Counter(
            "voicebridge_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_latency = Histogram(
            "voicebridge_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["route"],
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )
        self.incidents_created = Counter(
            "voicebridge_incidents_created",
            "Incidents created",
            ["source", "category"],
            registry=r,
        )
        self.intake_batch = Histogram(
            "voicebridge_intake_batch_size",
            "Incidents written per intake transaction",
            registry=r,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
        )
        self.tasks_enqueued = Counter(
            "voicebridge_tasks_enqueued", "Tasks handed to the job queue", registry=r
        )
        self.tasks = Gauge(
            "voicebridge_tasks",
            "Task rows by state (unsent, in_queue, failed)",
            ["state"],
            registry=r,
        )
        self.peer_up = Gauge(
            "voicebridge_peer_up",
            "1 when the peer answered its last check",
            ["peer"],
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
