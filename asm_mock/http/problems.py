"""What was wrong, in short, from an error answer's body: for the journal and the access log."""

from __future__ import annotations

import orjson

__all__ = ["MAX_ERROR_BODY", "error_problems"]

MAX_ERROR_BODY = 16 * 1024  # bytes of an error body kept to read its problems from


def error_problems(body: bytes) -> tuple[str, ...]:
    """The messages of an error body (OCC `errors[].message`, OAuth2's `error_description`)."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ()
    if isinstance(parsed, dict) and isinstance(parsed.get("errors"), list):
        return tuple(
            str(e.get("message", e.get("type", "")))
            for e in parsed["errors"]
            if isinstance(e, dict)
        )
    if isinstance(parsed, dict) and "error" in parsed:
        return (f"{parsed['error']}: {parsed.get('error_description', '')}",)
    return ()
