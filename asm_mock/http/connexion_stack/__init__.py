"""Everything of asm-mock's HTTP layer that is built on Connexion: its middleware stack for the
contract (validation errors, 404/405, Swagger UI, preferred answers) and the admin API.

Importing Connexion costs ~0.35 s, most of a 0.5 s start-up budget, while the token endpoint and
the fast lane answer without it; `asm_mock.http.app` therefore loads this package in the
background once the server is up, and holds any request that needs it until it is ready.
Nothing outside this package imports Connexion (tests/test_architecture.py).
"""

import sys
import types
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Connexion 3.3 imports starlette.testclient at import time (for its test_client() helper, which
# asm-mock never uses); Starlette >= 1.x warns there that httpx should be httpx2.
warnings.filterwarnings(
    "ignore", message="Using `httpx` with `starlette.testclient` is deprecated", category=Warning
)


@contextmanager
def _stand_in(name: str, attribute: str, stand_in: Any) -> Iterator[None]:
    """While the block runs, `from <name> import <attribute>` gets `stand_in` instead of
    loading module `name`; afterwards the module is importable as usual."""
    if name in sys.modules:
        yield
        return
    module = types.ModuleType(name)
    setattr(module, attribute, stand_in)
    sys.modules[name] = module
    try:
        yield
    finally:
        if sys.modules.get(name) is module:
            del sys.modules[name]


class _TestClient:
    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        from starlette.testclient import TestClient

        return TestClient(*args, **kwargs)


def _httpx_command_line(*args: Any, **kwargs: Any) -> Any:
    # httpx.main is this very function while the stand-in is in place: only the private module
    # that defines it loads the real command-line client, and only when someone calls it
    from httpx._main import main  # noqa: PLC2701

    return main(*args, **kwargs)


def _requests_get(*args: Any, **kwargs: Any) -> Any:
    import requests

    return requests.get(*args, **kwargs)


def _import_connexion_lean() -> None:
    """Import Connexion without costly imports it makes and asm-mock never uses.

    `connexion.apps.abstract` imports Starlette's test client for `app.test_client()`, and
    `connexion.security` imports httpx, whose package imports its command-line client (click,
    rich, pygments) when those are installed. Together ~0.25 s of a 0.5 s start-up budget.
    Each stand-in loads and calls the real thing when used, so `app.test_client()` and
    `httpx.main()` still work. The same goes for requests (~0.07 s), which
    `connexion.json_schema` imports only to call `requests.get` on remote $refs, which
    asm-mock's documents do not have. tests/test_shipped_documents.py proves all three.

    Safe only while no other thread imports those three modules, since the stand-ins sit in
    sys.modules during the import: serving's event-loop thread never does, and the pytest
    plugin loads this package before its tests run.
    """
    if "connexion.apps.abstract" in sys.modules:
        return
    with (
        _stand_in("starlette.testclient", "TestClient", _TestClient),
        _stand_in("httpx._main", "main", _httpx_command_line),
        _stand_in("requests", "get", _requests_get),
    ):
        import connexion.apps.abstract  # noqa: F401 - binds the stand-ins


_import_connexion_lean()

from asm_mock.http.connexion_stack.apps import (  # noqa: E402 - after the lean import
    ConnexionApps,
    admin_app,
    api_app,
    connexion_apps,
    contract_app,
)

__all__ = ["ConnexionApps", "admin_app", "api_app", "connexion_apps", "contract_app"]
