"""The lock files pin every dependency pyproject.toml names, agree with each other, and build the image."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def pins(lock: str) -> dict[str, str]:
    found = {}
    for line in (ROOT / lock).read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line)
        if match:
            found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_runtime_lock_pins_every_dependency_within_its_floor():
    locked = pins("requirements.lock")
    for spec in project()["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in requirements.lock: run `make lock`"
        assert requirement.specifier.contains(locked[name], prereleases=True), f"{name}=={locked[name]} vs {spec}"


def test_the_dev_lock_pins_every_extra_and_the_same_runtime_versions():
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    for extra in project()["optional-dependencies"].values():
        for spec in extra:
            requirement = Requirement(spec)
            name = canonicalize_name(requirement.name)
            assert name in dev and requirement.specifier.contains(dev[name], prereleases=True), spec
    assert {name: dev.get(name) for name in runtime} == runtime


def test_the_image_builds_locked_dependencies_before_copying_the_code_on_a_pinned_base():
    dockerfile = (ROOT / "Dockerfile").read_text()
    lines = [line for line in dockerfile.splitlines() if line and not line.startswith("#")]
    first_code = next(i for i, line in enumerate(lines) if line.startswith("COPY libs"))
    deps = next(i for i, line in enumerate(lines) if "-r requirements.lock" in line)
    assert deps < first_code
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile, re.M).group(1)
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base), base
    for label in ("title", "version", "revision", "created", "source"):
        assert f"org.opencontainers.image.{label}=" in dockerfile
