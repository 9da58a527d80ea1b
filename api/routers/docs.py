"""GET /docs: Swagger UI for /openapi.json, served from this app (offline intranets).

FastAPI's own /docs and /redoc load their scripts from a CDN, so they are switched off
(`create_app`) and this page uses the vendored swagger-ui-dist (web_map/static/vendor/swagger-ui)
instead; it gets the same Content-Security-Policy as every other page.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from web_map.pages import STATIC_URL

router = APIRouter(include_in_schema=False)

SWAGGER = f"{STATIC_URL}/vendor/swagger-ui"


@router.get("/docs", response_class=HTMLResponse)
def api_docs() -> HTMLResponse:
    """Interactive API documentation; nothing loaded from outside this server."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="GridGov API",
        swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
        # the public validator badge would call validator.swagger.io
        swagger_ui_parameters={"validatorUrl": None},
    )
