"""The gateway refuses an admin key anyone could know, unless dev mode is explicitly on."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from gateway.app import create_app
from gateway.startup import UnsafeAdminKey, check_admin_key
from recast_common.settings import Settings
from recast_devstack import StackConfig

SECRET_YAML = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "secret.example.yaml"


@pytest.mark.parametrize("key", ["recast-admin-dev-key", "CHANGE-ME", "change-me-please", "admin", "short-key"])
def test_known_placeholder_and_short_admin_keys_are_refused(key):
    with pytest.raises(UnsafeAdminKey):
        check_admin_key(key, dev_mode=False)


def test_the_default_settings_do_not_start_a_gateway_outside_dev_mode():
    with pytest.raises(UnsafeAdminKey):
        create_app(Settings(admin_api_key=Settings.model_fields["admin_api_key"].default, dev_mode=False))


def test_dev_mode_accepts_the_default_key():
    assert create_app(Settings(dev_mode=True)) is not None


def test_a_random_key_and_no_key_are_accepted():
    check_admin_key("k3y-" + "x9Qa" * 8, dev_mode=False)
    check_admin_key("", dev_mode=False)


def test_the_kubernetes_secret_placeholder_is_refused():
    found = re.search(r"^\s*RECAST_ADMIN_API_KEY:\s*(\S+)", SECRET_YAML.read_text(), re.MULTILINE)
    assert found, "the manifest names the admin key"
    key = found.group(1).strip("'\"")
    with pytest.raises(UnsafeAdminKey):
        check_admin_key(key, dev_mode=False)


def test_the_dev_stack_makes_a_random_admin_key_by_default():
    first, second = StackConfig(data_dir=Path(".")), StackConfig(data_dir=Path("."))
    assert first.admin_api_key != second.admin_api_key
    check_admin_key(first.admin_api_key, dev_mode=False)
