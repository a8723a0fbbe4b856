"""Prometheus metrics of the service, defined once here and observed where the work happens.

Who observes what:

* ``DELIVERIES``, ``WEBHOOK_SECONDS``, ``SUBMISSIONS``: the web receiver.
* ``QUEUE_LATENCY`` and ``TASK_SECONDS``: whoever runs a review job — the embedded pool
  (``reviewbot.dispatch``) or the Celery task (``workers``; the enqueue time travels in the
  message header ``ENQUEUED_AT_HEADER``).
* ``REVIEWS``: ``reviewbot.service`` once a verdict is posted (or skipped).
* ``FILE_BYTES_READ`` and ``CACHED_FILES``, ``REVIEWS_REUSED``: ``reviewbot.service`` per review,
  so an operator sees what range reads and the caches save.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

ENQUEUED_AT_HEADER = "reviewbot_enqueued_at"  # seconds since the epoch, float

DELIVERIES = Counter(
    "reviewbot_webhook_deliveries",
    "Webhook deliveries received, by platform, event (scope.action on the Hub) and outcome.",
    ["platform", "event", "outcome"],
)
WEBHOOK_SECONDS = Histogram(
    "reviewbot_webhook_seconds",
    "Time to answer a webhook delivery.",
    ["platform"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
SUBMISSIONS = Counter(
    "reviewbot_submissions",
    "Review jobs handed to the queue or the embedded pool, by platform and reason.",
    ["platform", "reason", "mode"],
)
REVIEWS = Counter(
    "reviewbot_reviews",
    "Reviews finished, by platform and verdict (pass, warn, fail, error, skipped).",
    ["platform", "verdict"],
)
QUEUE_LATENCY = Histogram(
    "reviewbot_queue_latency_seconds",
    "Time from enqueue to the start of the review job.",
    ["queue"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
)
TASK_SECONDS = Histogram(
    "reviewbot_task_seconds",
    "Duration of review jobs, by task and outcome (ok, error).",
    ["task", "outcome"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)
FILE_BYTES_READ = Counter(
    "reviewbot_file_bytes_read",
    "Bytes of contribution files the checks read (remote ones: transferred), by platform.",
    ["platform"],
)
CACHED_FILES = Counter(
    "reviewbot_cached_files",
    "Files whose scan result came from the content-addressed cache instead of being read.",
    ["platform"],
)
REVIEWS_REUSED = Counter(
    "reviewbot_reviews_reused",
    "Reviews answered from the whole-review cache (the same head and base commits).",
    ["platform"],
)
