"""Prometheus metrics of the sweeper, one update per pass (served with RECAST_METRICS_PORT)."""
from __future__ import annotations

from prometheus_client import Counter, Gauge

ACTIONS = Counter("recast_sweeper_actions_total", "What sweeper passes did (or, dry-run, would have done)",
                  ["action", "dry_run"])
LAST_PASS = Gauge("recast_sweeper_last_pass_timestamp_seconds", "When the last pass ended (Unix time)")
PASS_SECONDS = Gauge("recast_sweeper_last_pass_duration_seconds", "How long the last pass took")
PASS_FAILURES = Counter("recast_sweeper_pass_failures_total", "Passes that stopped on an error")
MISSING = Gauge("recast_sweeper_missing_objects", "Objects named by a row but absent from S3 (last pass)")
