"""`asm-mock proxy` and `asm-mock drift`: what the commands in asm_mock/cli.py run."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asm_mock.admin_client import AdminUnreachable, admin_get, is_admin_answer, parsed, refusal

if TYPE_CHECKING:
    from asm_mock.proxy.exchange import Exchange

__all__ = ["DRIFT_PATH", "build_proxy", "print_drift", "run_proxy"]

DRIFT_PATH = "/__admin/drift"
_MAX_BODY_BYTES = 64 * 1024 * 1024


def build_proxy(
    upstream: str,
    *,
    strict: bool = False,
    upstream_ca: Path | None = None,
    upstream_timeout: float = 30.0,
    contract: Path | None = None,
    admin_token: str | None = None,
    on_exchange: Sequence[Callable[[Exchange], None]] = (),
    record: Path | None = None,
    pseudonymize: bool = False,
) -> Any:
    """The ProxyApp for these options (typed Any: the CLI module stays free of its imports);
    `on_exchange`, what each forwarded exchange is handed to, after a `Recorder` into `record`.
    Raises FixtureError where `record` holds a recording it cannot continue."""
    from asm_mock.contract import load_compiled
    from asm_mock.domain.disk_cache import default_cache_dir
    from asm_mock.proxy.app import ProxyApp
    from asm_mock.proxy.forward import Upstream
    from asm_mock.resources import contract_path

    compiled = load_compiled(contract or contract_path(), cache_dir=default_cache_dir())
    hooks = list(on_exchange)
    if record is not None:
        from asm_mock.recording.recorder import Recorder

        hooks.insert(0, Recorder(record, compiled, pseudonymize=pseudonymize))
    forward = Upstream(upstream, timeout=upstream_timeout, ca_file=upstream_ca)
    return ProxyApp(forward, compiled, strict=strict, admin_token=admin_token, on_exchange=hooks)


def run_proxy(
    *,
    upstream: str,
    host: str,
    port: int,
    strict: bool,
    upstream_ca: Path | None,
    upstream_timeout: float,
    contract: Path | None,
    admin_token: str | None,
    log_format: str,
    record: Path | None,
    pseudonymize: bool,
) -> int:
    import uvicorn

    from asm_mock.cli import configure_logging, exposure_warning
    from asm_mock.domain.errors import FixtureError, InvalidContractError
    from asm_mock.http.server_protocol import HTTP_PROTOCOL

    warning = exposure_warning(host)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    try:
        app = build_proxy(
            upstream,
            strict=strict,
            upstream_ca=upstream_ca,
            upstream_timeout=upstream_timeout,
            contract=contract,
            admin_token=admin_token,
            record=record,
            pseudonymize=pseudonymize,
        )
    except FixtureError as error:  # a recording it cannot continue: one line, as a refusal
        print(f"asm-mock: error: option --record: {error}", file=sys.stderr, flush=True)
        return 2
    except InvalidContractError as error:
        print(f"asm-mock: error: option --contract: {error}", file=sys.stderr, flush=True)
        return 2
    print(
        f"asm-mock proxy on http://{host}:{port} -> {upstream} "
        f"({'strict' if strict else 'passing answers on unchanged'}); "
        f"reports at /__admin/report and {DRIFT_PATH}"
        + (f"; recording into {record / 'scenarios'}" if record is not None else ""),
        flush=True,
    )
    configure_logging(log_format)
    # no Date or Server of uvicorn's own: the upstream's pass through as they came
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
        date_header=False,
        http=HTTP_PROTOCOL,
    )
    return 0


def print_drift(url: str, *, token: str | None, output_format: str, fail: bool) -> int:
    from asm_mock.report_render import render_drift

    try:
        answer = admin_get(url, DRIFT_PATH, token=token, timeout=30.0, limit=_MAX_BODY_BYTES)
    except AdminUnreachable as error:
        print(f"asm-mock: no drift report from {url}{DRIFT_PATH}: {error}", file=sys.stderr)
        return 1
    document = parsed(answer.body)
    if not 200 <= answer.status < 300 or not is_admin_answer(document, "getDrift"):
        why = (
            refusal(answer.status, answer.body)
            if answer.status >= 300
            else "the answer is not a drift report (is that an asm-mock proxy?)"
        )
        print(f"asm-mock: no drift report from {url}{DRIFT_PATH}: {why}", file=sys.stderr)
        return 1
    print(render_drift(document, output_format), flush=True)
    kinds = len(document.get("drift", []))
    if fail and kinds:
        print(f"asm-mock: failing on drift: {kinds} kinds", file=sys.stderr)
        return 1
    return 0
