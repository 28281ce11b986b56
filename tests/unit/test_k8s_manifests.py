"""deploy/k8s, rendered as `kubectl apply -k` would apply it: valid objects, and a deploy that survives re-apply."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from k8s_render import K8S, containers, pod_spec, render

CRD_SCHEMAS = Path(__file__).resolve().parent / "crd_schemas"
CRD_KINDS = {
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"): "kafkatopic.json",
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject.json",
    ("monitoring.coreos.com/v1", "PodMonitor"): "podmonitor.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule.json",
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): "httproute.json",
}
KUBERNETES_VERSION = "1.31"  # the oldest release with the AppArmor field the testers use
ADMIN_OR_LLM = {"recast-admin", "recast-llm"}


@pytest.fixture(scope="module")
def objects() -> list[dict]:
    return render()


def of_kind(objects: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def config(objects: list[dict]) -> dict[str, str]:
    return of_kind(objects, "ConfigMap")["recast-config"]["data"]


def secret_refs(container: dict) -> set[str]:
    refs = {e["secretRef"]["name"] for e in container.get("envFrom", []) if "secretRef" in e}
    refs |= {e["valueFrom"]["secretKeyRef"]["name"] for e in container.get("env", [])
             if "secretKeyRef" in e.get("valueFrom", {})}
    return refs


def test_every_object_validates_against_the_kubernetes_or_its_crd_schema(objects):
    for obj in objects:
        crd = CRD_KINDS.get((obj["apiVersion"], obj["kind"]))
        where = f'{obj["kind"]}/{obj["metadata"]["name"]}'
        if crd:
            schema = json.loads((CRD_SCHEMAS / crd).read_text())
            errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(obj)]
            assert not errors, f"{where}: {errors}"
        else:
            try:
                kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{where}: {exc.message} at {list(exc.path)}")


def test_the_crd_schemas_refuse_what_the_operators_would_refuse():
    topic = {"apiVersion": "kafka.strimzi.io/v1beta2", "kind": "KafkaTopic", "metadata": {"name": "t"},
             "spec": {"partitions": 0, "replica": 3}}
    schema = json.loads((CRD_SCHEMAS / "kafkatopic.json").read_text())
    messages = " ".join(e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(topic))
    assert "0 is less than the minimum" in messages and "'replica' was unexpected" in messages
    trigger = {"type": "kafka", "metadata": {"lagThreshold": 5}}
    scaled = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "s"},
              "spec": {"scaleTargetRef": {"name": "x"}, "triggers": [trigger]}}
    schema = json.loads((CRD_SCHEMAS / "scaledobject.json").read_text())
    assert not jsonschema.Draft202012Validator(schema).is_valid(scaled)  # trigger metadata values are strings


def test_the_renderer_agrees_with_kubectl_kustomize(objects):
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("no kubectl here: k8s_render alone renders the kustomization")
    out = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True, check=True).stdout
    theirs = sorted((o for o in yaml.safe_load_all(out) if o), key=lambda o: (o["kind"], o["metadata"]["name"]))
    ours = sorted(objects, key=lambda o: (o["kind"], o["metadata"]["name"]))
    assert theirs == ours


def test_every_deployment_has_liveness_and_readiness_probes(objects):
    for name, deployment in of_kind(objects, "Deployment").items():
        for container in pod_spec(deployment)["containers"]:
            assert "livenessProbe" in container and "readinessProbe" in container, name
            liveness = container["livenessProbe"]["httpGet"]["path"]
            readiness = container["readinessProbe"]["httpGet"]["path"]
            assert liveness != readiness, f"{name}: a dependency outage must not restart the pod"


def test_no_deployment_sets_replicas_where_keda_or_an_hpa_owns_the_count(objects):
    deployments = of_kind(objects, "Deployment")
    owned = {o["spec"]["scaleTargetRef"]["name"] for o in objects if o["kind"] in ("ScaledObject",
                                                                                  "HorizontalPodAutoscaler")}
    assert owned - {"gateway"} and owned <= set(deployments)
    for name in owned:
        assert "replicas" not in deployments[name]["spec"], name


def test_migrations_run_in_an_init_container_of_every_deployment_and_no_job_is_applied(objects):
    assert not of_kind(objects, "Job")
    for name, deployment in of_kind(objects, "Deployment").items():
        init = pod_spec(deployment).get("initContainers", [])
        assert [c["args"] for c in init] == [["python", "-m", "recast_common.db.migrate"]], name
        assert secret_refs(init[0]) == {"recast-db"}


def test_no_secret_is_applied_and_the_example_lists_every_secret_a_pod_uses(objects):
    assert not of_kind(objects, "Secret")
    example = {o["metadata"]["name"] for o in yaml.safe_load_all((K8S / "secret.example.yaml").read_text())}
    used = {ref for obj in objects for c in containers(obj) for ref in secret_refs(c)}
    assert used == example


def test_the_testers_get_no_admin_or_llm_key_and_only_the_planner_gets_the_llm_key(objects):
    for name, deployment in of_kind(objects, "Deployment").items():
        refs = set().union(*(secret_refs(c) for c in containers(deployment)))
        if name.startswith("tester"):
            assert not refs & ADMIN_OR_LLM, name
        assert ("recast-llm" in refs) == (name == "planner"), name
        assert ("recast-admin" in refs) == (name == "gateway"), name


def test_the_testers_egress_reaches_only_dns_kafka_postgres_and_https(objects):
    policies = [p for p in of_kind(objects, "NetworkPolicy").values() if "Egress" in p["spec"]["policyTypes"]]
    tester_policies = [p for p in policies if any(
        "tester" in expr["values"] and "tester-inference" in expr["values"]
        for expr in p["spec"]["podSelector"].get("matchExpressions", []))]
    assert len(tester_policies) == 1
    ports = sorted(port["port"] for rule in tester_policies[0]["spec"]["egress"] for port in rule["ports"])
    assert ports == [53, 53, 443, 5432, 9092]


def test_testers_outlive_a_sandbox_run_and_inference_storage_holds_a_largest_input(objects):
    settings = config(objects)
    deployments = of_kind(objects, "Deployment")
    for name in ("tester", "tester-inference"):
        grace = pod_spec(deployments[name])["terminationGracePeriodSeconds"]
        assert grace > float(settings["RECAST_SANDBOX_TIMEOUT_SECONDS"]), name
    volumes = {v["name"]: v for v in pod_spec(deployments["tester-inference"])["volumes"]}
    size = volumes["tmp"]["emptyDir"]["sizeLimit"]
    assert size.endswith("Gi") and int(size[:-2]) * 2**30 > int(settings["RECAST_MAX_INFERENCE_BYTES"])


def test_strimzi_owns_the_topics_on_the_cluster(objects):
    assert config(objects)["RECAST_CREATE_TOPICS"] == "false"
    topics = {t["spec"]["topicName"] for t in of_kind(objects, "KafkaTopic").values()}
    from recast_common.kafka import all_topic_names

    assert set(all_topic_names()) <= topics


def test_an_httproute_stands_beside_the_ingress_on_the_same_service(objects):
    ingress = of_kind(objects, "Ingress")["gateway"]
    route = of_kind(objects, "HTTPRoute")["gateway"]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
    assert [ref["name"] for rule in route["spec"]["rules"] for ref in rule["backendRefs"]] == [backend]
    assert route["spec"]["hostnames"] == [rule["host"] for rule in ingress["spec"]["rules"]]


def test_every_alert_has_a_runbook_section_and_queries_only_exposed_metrics(objects):
    from test_metrics_dashboard import OURS, exposed

    runbook = (K8S.parents[1] / "docs/runbook.md").read_text()
    anchors = {line[3:].strip().lower() for line in runbook.splitlines() if line.startswith("## ")}
    known = exposed()
    rules = [r for g in of_kind(objects, "PrometheusRule")["recast"]["spec"]["groups"] for r in g["rules"]]
    assert {"RecastJobStuck", "RecastJobFailureRate", "RecastDeadLetterGrowth", "RecastConsumerLag",
            "RecastSweeperFailing"} <= {r["alert"] for r in rules}
    for rule in rules:
        anchor = rule["annotations"]["runbook_url"].rsplit("#", 1)[1]
        assert anchor in anchors, f'{rule["alert"]}: no section "## {anchor}" in docs/runbook.md'
        for name in OURS.findall(rule["expr"]):
            assert name in known, f'{rule["alert"]} queries {name}, which no service exposes'


def test_the_probe_paths_of_the_manifests_are_served(objects):
    from gateway.app import create_app
    from recast_common.settings import Settings

    gateway = pod_spec(of_kind(objects, "Deployment")["gateway"])["containers"][0]
    paths = {gateway[probe]["httpGet"]["path"] for probe in ("livenessProbe", "readinessProbe", "startupProbe")}
    routes = create_app(Settings(dev_mode=True)).router.routes
    served = {route.path for route in routes if hasattr(route, "path")}
    served |= {context.path_format for route in routes if hasattr(route, "effective_route_contexts")
               for context in route.effective_route_contexts()}
    assert "/nowhere" not in served and paths <= served, paths - served
    consumer_paths = {c[probe]["httpGet"]["path"] for name, d in of_kind(objects, "Deployment").items()
                      if name != "gateway" for c in pod_spec(d)["containers"]
                      for probe in ("livenessProbe", "readinessProbe")}
    assert consumer_paths == {"/healthz", "/readyz"}  # recast_common.metrics serves these two
