"""The sweeper's own settings (prefix RECAST_SWEEPER_); the database, S3 and broker come from recast_common."""
from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SweeperSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RECAST_SWEEPER_", env_file=None, extra="ignore")

    interval_seconds: float = Field(default=60.0, gt=0)  # between passes
    # a job whose row did not change for this long in a non-terminal status is stuck: longer than any stage
    # may take (the search budget, a sandbox run of RECAST_SANDBOX_TIMEOUT_SECONDS, queueing behind others)
    stuck_after_seconds: float = Field(default=1800.0, gt=0)
    max_redrives: int = Field(default=2, ge=0)  # re-drives of one submission before it is failed
    orphan_grace_seconds: float = Field(default=3600.0, ge=0)  # an S3 object this old without its row goes
    retention_seconds: float = Field(default=7 * 86400.0, ge=0)  # sent outbox rows, published inbox rows
    missing_check_batch: int = Field(default=200, ge=0)  # jobs whose objects are checked per pass
    dry_run: bool = False  # report what a pass would do, change nothing
