"""What a running mock is configured with (from the CLI, environment variables, or tests)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from asm_mock.domain.generate import DEFAULT_CUSTOMERS, DEFAULT_SEED
from asm_mock.domain.journal import DEFAULT_JOURNAL_SIZE

__all__ = ["AuthMode", "Settings"]


class AuthMode(StrEnum):
    STRICT = "strict"
    PERMISSIVE = "permissive"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 9002
    seed: int = DEFAULT_SEED
    customers: int = DEFAULT_CUSTOMERS
    fixtures: Path | None = None  # None: the packaged fixtures/
    auth: AuthMode = AuthMode.STRICT
    log_format: str = "text"
    admin_token: str | None = None  # None: the admin API answers loopback clients only
    journal_size: int = DEFAULT_JOURNAL_SIZE
