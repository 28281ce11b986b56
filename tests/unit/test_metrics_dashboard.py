"""The Grafana dashboard queries only metric and label names the services expose."""

from __future__ import annotations

import json
import re
from pathlib import Path

from gateway import metrics as gateway_metrics
from prometheus_client import Counter, Gauge, Histogram
from recast_common import metrics as consumer_metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy/k8s/grafana/recast-dashboard.json"
# Added by Prometheus when it scrapes a pod (PodMonitor / kubernetes_sd), not by the services.
SCRAPE_LABELS = {"namespace", "pod", "instance", "job", "container"}
OURS = re.compile(r"\b(recast_[a-z_]+|http_[a-z_]+)\b")


def exposed() -> dict[str, set[str]]:
    """Sample names the services expose, each with the labels it carries."""
    found: dict[str, set[str]] = {}
    for module in (consumer_metrics, gateway_metrics):
        for collector in vars(module).values():
            if isinstance(collector, Histogram):
                labels = set(collector._labelnames)
                for suffix, extra in (("_bucket", {"le"}), ("_count", set()), ("_sum", set())):
                    found[collector._name + suffix] = labels | extra
            elif isinstance(collector, Counter):
                found[collector._name + "_total"] = set(collector._labelnames)
            elif isinstance(collector, Gauge):
                found[collector._name] = set(collector._labelnames)
    return found


def service_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    return [e for e in exprs if OURS.search(e)]


def test_the_dashboard_queries_the_services_metrics():
    names = {name for expr in service_queries() for name in OURS.findall(expr)}
    assert {"recast_stage_duration_seconds_bucket", "recast_job_duration_seconds_bucket",
            "recast_handler_errors_total", "recast_events_handled_total", "http_requests_total"} <= names


def test_every_metric_and_label_in_the_dashboard_exists():
    known = exposed()
    for expr in service_queries():
        names = OURS.findall(expr)
        for name in names:
            assert name in known, f"{name} in {expr!r} is not exposed"
        allowed = set().union(*(known[n] for n in names)) | SCRAPE_LABELS
        grouped = {label.strip() for group in re.findall(r"by \(([^)]*)\)", expr) for label in group.split(",")}
        matched = set(re.findall(r"([a-z_]+)\s*(?:=~|!~|!=|=)\s*\"", expr))
        assert grouped | matched <= allowed, f"unknown labels {(grouped | matched) - allowed} in {expr!r}"
