"""The OpenAPI 3.1 document (issue 8, point 1): served without a key, valid, and exactly
the app's routes, both ways."""

import re
from typing import Any

import schemathesis
from aiohttp import web

from tests.voicebridge.conftest import Api
from voicebridge.api.errors import CODES
from voicebridge.api.openapi import PATH, document
from voicebridge.app import make_app
from voicebridge.settings import Settings

METHODS = {"get", "post", "put", "patch", "delete"}


def routes_of(app: web.Application) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves; HEAD comes with each GET."""
    found = set()
    for route in app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        found.add((route.method.lower(), route.resource.canonical))
    return found


def documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, item in doc["paths"].items()
        for method in item
        if method in METHODS
    }


async def test_the_document_is_served_without_a_key(api: Api) -> None:
    response = await api.client.get(PATH)
    assert response.status == 200
    assert response.content_type == "application/json"
    served = await response.json()
    assert served == document()
    assert served["openapi"] == "3.1.0"


def test_every_route_is_documented_and_every_documented_route_exists(
    settings: Settings,
) -> None:
    app = make_app(settings)
    served, described = routes_of(app), documented(document())
    assert served - described == set(), "routes the document does not describe"
    assert described - served == set(), "documented routes the app does not serve"


def test_the_path_parameters_match_the_routes() -> None:
    for path, item in document()["paths"].items():
        names = set(re.findall(r"\{(\w+)\}", path))
        for method in METHODS & set(item):
            params = {p["name"] for p in item[method].get("parameters", []) if p["in"] == "path"}
            assert params == names, (method, path)


def test_the_document_is_valid_openapi_3_1() -> None:
    schema = schemathesis.openapi.from_dict(document())
    schema.validate()  # against the OpenAPI 3.1 meta-schema; raises when invalid
    assert len(list(schema.get_all_operations())) == len(documented(document()))


def test_request_bodies_come_from_the_pydantic_models() -> None:
    from voicebridge.api.schemas import IncidentIn

    schemas = document()["components"]["schemas"]
    assert schemas["IncidentIn"]["required"] == ["category"]
    assert schemas["IncidentIn"]["additionalProperties"] is False
    assert set(schemas["IncidentIn"]["properties"]) == set(IncidentIn.model_fields)


def test_the_error_envelope_lists_every_code_and_every_key_needing_route_says_bearer() -> None:
    doc = document()
    envelope = doc["components"]["schemas"]["Error"]["properties"]["error"]
    assert envelope["properties"]["code"]["enum"] == sorted(CODES)
    assert set(envelope["properties"]["fields"]["items"]["required"]) == {"field", "message"}
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "an API key from `voicebridge apikey create`",
    }
    for path, item in doc["paths"].items():
        for method in METHODS & set(item):
            op = item[method]
            keyed = path.startswith("/api/") and path != PATH
            assert op["security"] == ([{"bearer": []}] if keyed else []), (method, path)
            if keyed:
                assert "401" in op["responses"], (method, path)
            for status, response in op["responses"].items():
                if int(status) >= 400 and path.startswith("/api/"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path)
