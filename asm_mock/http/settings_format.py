"""The admin API's `Settings` document (`GET`/`PATCH /__admin/settings`, a scenario's answer).

A PATCH body is read by the domain's `settings_changes`, since scenario files spell settings the
same way; what the admin API answers is written here.
"""

from __future__ import annotations

from typing import Any

from asm_mock.domain.controls import RuntimeSettings
from asm_mock.domain.scenarios import AUTH_MODES

__all__ = ["settings_view"]


def settings_view(settings: RuntimeSettings) -> dict[str, Any]:
    return {
        "latency": str(settings.latency),
        "errorRate": settings.error_rate,
        "authMode": AUTH_MODES[settings.permissive_auth],
    }
