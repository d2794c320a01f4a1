"""The registration OpenAPI document and its Swagger UI page (vendored assets only)."""

from __future__ import annotations

import json
import re
from urllib.parse import urljoin

from tests.services.registration.api.calls import path_of
from tests.services.registration.conftest import BASE_URL

# --- OpenAPI and docs ----------------------------------------------------------------------------


def test_openapi_document_describes_the_registration_paths(web):
    response = web.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = json.loads(response.data)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Hudoor registration"
    paths = document["paths"]
    assert "post" in paths["/api/v1/events/{ref}/registrations"]
    assert "post" in paths["/api/v1/registrations/{registration_id}/cancel"]
    assert "get" in paths["/api/v1/badge-keys"]


def test_api_docs_use_the_vendored_swagger_ui_only(web):
    response = web.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', html)
    assert any(src.endswith("swagger-ui-bundle.js") for src in scripts)
    for src in scripts + re.findall(r'<link[^>]*\bhref="([^"]+)"', html):
        assert not re.match(r"^(https?:)?//", src), src
        url = urljoin(f"{BASE_URL}/api/v1/docs", src)
        assert url.startswith(f"{BASE_URL}/static/shared/vendor/swagger-ui/")
        assert web.get(path_of(url)).status_code == 200, url
