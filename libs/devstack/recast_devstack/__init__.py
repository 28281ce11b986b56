"""Embedded development/test stack: SeaweedFS + Tansu + Postgres, process supervision, `make run`."""
from recast_devstack.stack import Stack, StackConfig, StackEnv

__all__ = ["Stack", "StackConfig", "StackEnv"]
