"""Swagger UI for a served contract: Swagger UI 5, "Authorize" ready for the demo client.

Connexion 3.3's `swagger-ui` extra brings Swagger UI 4.15, which cannot render OpenAPI 3.1;
asm-mock depends on `swagger-ui-bundle-v2` instead, a drop-in package (same `swagger_ui_bundle`
module, same Jinja page Connexion renders) that carries Swagger UI 5. A document with an oauth2
password flow gets the demo client pre-filled in the "Authorize" dialog (`initOAuth`); Swagger UI
resolves the flow's relative `tokenUrl` against the served `servers` URL, i.e. this very origin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connexion.options import SwaggerUIOptions

__all__ = ["DEMO_OAUTH_CLIENT", "swagger_ui_options"]


# Public demo credentials from fixtures/ (Spartacus' default client), never real secrets.
DEMO_OAUTH_CLIENT = {
    "clientId": "mobile_android",
    "clientSecret": "secret",
    "appName": "asm-mock demo client mobile_android / secret (public demo credentials)",
}


def _has_password_flow(spec: Mapping[str, Any]) -> bool:
    schemes = spec.get("components", {}).get("securitySchemes", {})
    return any(
        isinstance(scheme, Mapping)
        and scheme.get("type") == "oauth2"
        and "password" in scheme.get("flows", {})
        for scheme in schemes.values()
    )


def swagger_ui_options(spec: Mapping[str, Any]) -> SwaggerUIOptions:
    """Connexion's options: the spec at `/openapi.json`, Swagger UI 5 at `/ui/`."""
    arguments: dict[str, Any] = {"title": str(spec.get("info", {}).get("title", "Swagger UI"))}
    if _has_password_flow(spec):
        arguments["initOAuth"] = dict(DEMO_OAUTH_CLIENT)
    return SwaggerUIOptions(
        swagger_ui=True,
        spec_path="/openapi.json",
        swagger_ui_template_arguments=arguments,
    )
