"""The consumers table is the one subscription map: apps, lag reporting and the KEDA manifests all follow it."""
from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from recast_common.consumers import CONSUMERS, Consumer, consumer
from recast_common.events import Topics
from recast_common.kafka import GROUP_TOPICS, all_topic_names
from recast_common.settings import Settings

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"


def _manifests(name: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]


def _scaled_objects() -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in _manifests("keda-scaledobjects.yaml")}


def test_every_topic_has_a_consumer_group() -> None:
    consumed = {t for c in CONSUMERS for t in c.topics}
    assert set(Topics.ALL) <= consumed, f"nobody consumes {set(Topics.ALL) - consumed}"


def test_consumer_groups_are_unique_and_read_known_topics() -> None:
    groups = [c.group for c in CONSUMERS]
    assert len(groups) == len(set(groups))
    assert all(t in Topics.ALL for c in CONSUMERS for t in c.topics)


def test_lag_reporting_covers_exactly_the_consumers_table() -> None:
    assert GROUP_TOPICS == {c.group: c.topics for c in CONSUMERS}


@pytest.mark.parametrize("entry", CONSUMERS, ids=lambda c: c.group)
def test_each_consumer_group_has_a_scaled_object_with_one_trigger_per_topic(entry: Consumer) -> None:
    scaled = _scaled_objects().get(entry.group)
    assert scaled is not None, f"no ScaledObject for group {entry.group}"
    assert scaled["spec"]["scaleTargetRef"]["name"] == entry.group
    triggers = [t["metadata"] for t in scaled["spec"]["triggers"] if t["type"] == "kafka"]
    assert {t["consumerGroup"] for t in triggers} == {entry.group}
    topics = [t["topic"] for t in triggers]
    assert sorted(topics) == sorted(entry.topics), f"{entry.group}: triggers on {topics}, consumes {entry.topics}"


def test_every_scaled_object_scales_a_consumer_group() -> None:
    assert set(_scaled_objects()) == {c.group for c in CONSUMERS}


def test_every_scaled_deployment_and_consumed_topic_is_in_the_manifests() -> None:
    deployments = {
        doc["metadata"]["name"]
        for path in K8S.glob("deployment-*.yaml")
        for doc in _manifests(path.name)
        if doc.get("kind") == "Deployment"
    }
    assert {c.group for c in CONSUMERS} <= deployments
    topics = {doc["spec"]["topicName"] for doc in _manifests("kafka-topics.yaml")}
    assert set(all_topic_names()) <= topics


@pytest.mark.parametrize("entry", CONSUMERS, ids=lambda c: c.group)
def test_each_named_handler_exists(entry: Consumer) -> None:
    module, _, name = entry.handler.partition(":")
    handler = importlib.import_module(module)
    for part in name.split("."):
        handler = getattr(handler, part)
    assert entry.check(handler) is handler


def test_a_handler_other_than_the_tables_is_refused() -> None:
    from coder.handlers import handle

    with pytest.raises(ValueError, match="planner.handlers:handle"):
        consumer("planner").check(handle)
    with pytest.raises(KeyError):
        consumer("no-such-group")


def test_service_apps_subscribe_from_the_table() -> None:
    from coder.app import create_app as coder_app
    from planner.app import create_app as planner_app
    from profiler.app import create_app as profiler_app
    from tester.app import loops

    settings = Settings()
    for create in (coder_app, planner_app, profiler_app):
        assert create(settings) is not None
    assert [(loop.group, loop.topics) for loop in loops(settings)] == [
        (c.group, c.topics) for c in (consumer("tester"), consumer("tester-inference"))
    ]
    assert [loop.handle.name for loop in loops(settings)] == [consumer("tester").handler,
                                                               consumer("tester-inference").handler]


@pytest.mark.parametrize("entry", CONSUMERS, ids=lambda c: c.group)
def test_the_lazy_handler_loads_the_tables_handler(entry: Consumer) -> None:
    lazy = entry.lazy()
    assert entry.check(lazy.load()) is lazy.load()


@pytest.mark.parametrize("service", ["profiler", "planner", "coder", "tester"])
def test_a_consumer_service_joins_its_groups_before_importing_its_handlers(service: str) -> None:
    """What `python -m <service>` imports before its group join: no handler module, no SQLAlchemy (they are
    imported in a thread while the join waits at the broker)."""
    probe = (f"import sys, {service}.__main__; from {service}.app import create_app; create_app(); "
             f"print(sorted(m for m in ('{service}.handlers', 'tester.inference', 'sqlalchemy', 'aiobotocore') "
             "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
