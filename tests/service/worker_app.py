"""The Celery app as the worker tests run it: production settings, shorter waits.

Only a few numbers change, so that a test run does not wait out production-sized delays: the
longest in-process rate-limit sleep (a longer one becomes a task retry with a countdown) and
Redis's visibility timeout (how soon a message held by a killed worker is handed out again), and
how often and how soon check runs left open are swept for.
"""

from __future__ import annotations

from reviewbot.platforms.github import client as github_client
from workers.app import app

github_client.MAX_RATE_LIMIT_WAIT = 1.0
app.conf.broker_transport_options = {
    **app.conf.broker_transport_options,
    "visibility_timeout": 6,  # leases renewed every 1.2 s
    # sweep for messages of dead workers every second, not every 30 s
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}

# check runs left open are swept for every second, and overdue after 30 s (longer than the
# slowest review these tests make)
app.conf.reviewbot_sweep_interval = 1
app.conf.reviewbot_sweep_after = 30

__all__ = ["app"]
