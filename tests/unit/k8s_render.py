"""Render deploy/k8s the way `kubectl kustomize` does, for the features its kustomization.yaml uses.

Offline and without a kustomize binary: resources (multi-document files), the namespace, images (name, newName,
newTag) and configMapGenerator (files, labels, disableNameSuffixHash). Anything else in the kustomization is
refused, so a new feature cannot be silently ignored by the tests (teach it here, or the tests fail).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

K8S = Path(__file__).resolve().parents[2] / "deploy/k8s"
SUPPORTED = {"apiVersion", "kind", "namespace", "resources", "images", "configMapGenerator"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PriorityClass"}


def kustomization(root: Path = K8S) -> dict[str, Any]:
    return yaml.safe_load((root / "kustomization.yaml").read_text())


def render(root: Path = K8S) -> list[dict[str, Any]]:
    spec = kustomization(root)
    unknown = set(spec) - SUPPORTED
    if unknown:
        raise NotImplementedError(f"k8s_render does not know kustomization fields {sorted(unknown)}")
    objects: list[dict[str, Any]] = []
    for resource in spec.get("resources", []):
        objects.extend(doc for doc in yaml.safe_load_all((root / resource).read_text()) if doc)
    for generator in spec.get("configMapGenerator", []):
        options = generator.get("options", {})
        if not options.get("disableNameSuffixHash"):
            raise NotImplementedError("k8s_render: only generators with disableNameSuffixHash")
        data = {Path(f).name: (root / f).read_text() for f in generator.get("files", [])}
        metadata: dict[str, Any] = {"name": generator["name"]}
        if options.get("labels"):
            metadata["labels"] = dict(options["labels"])
        objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data})
    namespace = spec.get("namespace")
    rendered = []
    for obj in objects:
        obj = copy.deepcopy(obj)
        if namespace and obj["kind"] not in CLUSTER_SCOPED:
            obj["metadata"]["namespace"] = namespace
        for container in containers(obj):
            container["image"] = _retag(container["image"], spec.get("images", []))
        rendered.append(obj)
    return rendered


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return obj["spec"]["template"]["spec"]
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    pod = pod_spec(obj)
    if pod is None:
        return []
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def _retag(image: str, images: list[dict[str, str]]) -> str:
    name, _, tag = image.partition(":")
    for rule in images:
        if rule["name"] == name:
            name = rule.get("newName", name)
            tag = rule.get("newTag", tag)
    return f"{name}:{tag}" if tag else name
