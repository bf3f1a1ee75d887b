"""Input at the limits of the parsers answers a JSON 4xx naming what is wrong, never a
5xx, on SQLite and on PostgreSQL (issue 8, point 1: one regression test per defect)."""

import asyncio
import base64
import json
import logging
from typing import Any

import pytest
from aiohttp import ClientResponse

from tests.conftest import make_settings
from tests.voicebridge.conftest import Api
from voicebridge.settings import Settings

URL = "/api/v1/incidents"
HUGE = "99999999999999999999999"  # past SQLite's and PostgreSQL's 64-bit integers


@pytest.fixture
def settings(database_url: str, redis_url: str) -> Settings:
    """Every test here runs on SQLite and on PostgreSQL."""
    return make_settings(database_url, redis_url)


@pytest.fixture(autouse=True)
def no_error_logged(caplog: pytest.LogCaptureFixture) -> Any:
    """A refused input is the client's mistake: nothing is logged as an error."""
    caplog.set_level(logging.INFO)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [r.getMessage() for r in errors]


async def error_of(response: ClientResponse, status: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    error: dict[str, Any] = (await response.json())["error"]
    return error


def fields_of(error: dict[str, Any]) -> list[str]:
    return [f["field"] for f in error.get("fields", [])]


# ------------------------------------------------------------------ JSON bodies


@pytest.mark.parametrize("depth", [33, 1_000, 100_000])
async def test_a_json_body_nested_too_deep_answers_422(api: Api, depth: int) -> None:
    body = '{"category": ' + "[" * depth + "]" * depth + "}"
    response = await api.client.post(
        URL, data=body, headers={**api.auth(), "Content-Type": "application/json"}
    )
    error = await error_of(response, 422)
    assert error["code"] == "json_too_deep"
    assert "32 niveles" in error["message"]
    assert api.runtime.store.count() == 0


async def test_nesting_within_the_limit_is_judged_field_by_field(api: Api) -> None:
    body = '{"category": ' + "[" * 31 + "]" * 31 + "}"
    response = await api.client.post(
        URL, data=body, headers={**api.auth(), "Content-Type": "application/json"}
    )
    error = await error_of(response, 422)
    assert error["code"] == "validation_failed"
    assert fields_of(error) == ["category"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
async def test_python_s_constants_are_not_json(api: Api, constant: str) -> None:
    body = '{"category": "robo", "location": {"lat": -12.05, "lon": CONSTANT}}'.replace(
        "CONSTANT", constant
    )
    response = await api.client.post(
        URL, data=body, headers={**api.auth(), "Content-Type": "application/json"}
    )
    error = await error_of(response, 400)
    assert error["code"] == "invalid_json"


async def test_a_5000_digit_number_in_a_body_answers_a_clean_422(api: Api) -> None:
    body = '{"category": "robo", "location": {"lat": ' + "9" * 5000 + ', "lon": -77}}'
    response = await api.client.post(
        URL, data=body, headers={**api.auth(), "Content-Type": "application/json"}
    )
    error = await error_of(response, 422)
    assert error["code"] == "number_too_long"
    assert "set_int_max_str_digits" not in error["message"]
    assert "cifras" in error["message"]
    assert api.runtime.store.count() == 0


# ------------------------------------------------------------- ids in the path


@pytest.mark.parametrize(
    ("method", "tail"),
    [
        ("GET", ""),
        ("GET", "/route"),
        ("POST", "/dispatch"),
        ("GET", "/calls"),
        ("POST", "/legs"),
        ("DELETE", "/legs/1"),
        ("POST", "/acks"),
        ("POST", "/reports"),
        ("POST", "/status"),
        ("POST", "/merge"),
    ],
)
@pytest.mark.parametrize(
    "incident_id",
    [HUGE, f"LIM-2026-{HUGE}", "LIM-2026-000001%00", "LIM-2026-00000١", "LIM-٢٠٢٦-000001"],
)
async def test_an_incident_id_that_cannot_exist_answers_404(
    api: Api, method: str, tail: str, incident_id: str
) -> None:
    response = await api.client.request(
        method, f"{URL}/{incident_id}{tail}", headers=api.auth("admin"), json={}
    )
    error = await error_of(response, 404)
    assert error["code"] == "not_found"


@pytest.mark.parametrize("channel_id", [HUGE, "abc%00", "%00"])
async def test_a_leg_that_cannot_exist_answers_404(api: Api, channel_id: str) -> None:
    created = await api.create()
    response = await api.client.delete(
        f"{URL}/{created['id']}/legs/{channel_id}", headers=api.auth()
    )
    error = await error_of(response, 404)
    assert error["code"] == "not_found"


@pytest.mark.parametrize("revision_id", [HUGE, "9" * 5000, "١٢"])
async def test_a_revision_number_that_cannot_exist_answers_404(api: Api, revision_id: str) -> None:
    response = await api.client.get(
        f"/api/v1/routing/revisions/{revision_id}", headers=api.auth("admin")
    )
    error = await error_of(response, 404)
    assert error["code"] == "not_found"


# ------------------------------------------------------------ query parameters


def cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "value",
    [
        cursor(f"2026-11-25T15:00:00+00:00|{HUGE}"),
        cursor("2026-11-25T15:00:00+00:00|-" + HUGE),
        cursor("2026-11-25T15:00:00+00:00|" + "9" * 5000),
        cursor("0001-01-01T00:00:00+14:00|1"),
        cursor("9999-12-31T23:59:59-14:00|1"),
        cursor("2026-11-25T15:00:00+00:00|١٢"),
        cursor("2026-11-25T15:00:00+00:00|1\x00"),
        HUGE,
        "%00",
        "*" * 100,
    ],
)
async def test_a_cursor_this_api_never_returned_answers_422(api: Api, value: str) -> None:
    response = await api.client.get(f"{URL}?cursor={value}", headers=api.auth())
    error = await error_of(response, 422)
    assert fields_of(error) == ["cursor"]


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+14:00",
        "0001-01-01",
        "9999-12-31T23:59:59+14:00",
        "9999-12-31T23:59:59-14:00",
        "9999-12-31",
    ],
)
@pytest.mark.parametrize("field", ["since", "until"])
async def test_dates_at_the_ends_of_the_calendar_answer_200_or_422_naming_the_field(
    api: Api, field: str, value: str
) -> None:
    await api.create()
    response = await api.client.get(URL, params={field: value}, headers=api.auth())
    if response.status == 200:
        assert isinstance((await response.json())["items"], list)
    else:
        error = await error_of(response, 422)
        assert fields_of(error) == [field]


@pytest.mark.parametrize("value", ["-infinity", "infinity", "NaN", "+10000-01-01", "2026-13-01"])
@pytest.mark.parametrize("field", ["since", "until"])
async def test_dates_that_are_not_dates_answer_422_naming_the_field(
    api: Api, field: str, value: str
) -> None:
    response = await api.client.get(URL, params={field: value}, headers=api.auth())
    error = await error_of(response, 422)
    assert fields_of(error) == [field]


async def test_a_plus_sign_lost_to_the_url_is_explained(api: Api) -> None:
    """``+14:00`` written raw in a URL arrives as `` 14:00`` (a + is a space there)."""
    response = await api.client.get(f"{URL}?since=9999-12-31T23:59:59+14:00", headers=api.auth())
    error = await error_of(response, 422)
    assert error["fields"] == [
        {
            "field": "since",
            "message": "el + del desfase horario llegó como un espacio: en una URL escríbalo "
            "%2B, p. ej. 2026-11-25T08:00:00%2B05:00",
        }
    ]


async def test_a_value_quoted_back_shows_what_does_not_print_escaped(api: Api) -> None:
    response = await api.client.get(URL, params={"category": "robo\x00\r\n"}, headers=api.auth())
    error = await error_of(response, 422)
    [message] = [f["message"] for f in error["fields"]]
    assert not any(c in message for c in "\x00\r\n")
    assert "robo\\x00\\r\\n" in message


@pytest.mark.parametrize("value", ["²", "١٢", "٥٠", "1²", "9" * 5000, "-1", "+5", " 5"])
async def test_a_limit_that_is_not_plain_ascii_digits_answers_422(api: Api, value: str) -> None:
    response = await api.client.get(URL, params={"limit": value}, headers=api.auth())
    error = await error_of(response, 422)
    assert fields_of(error) == ["limit"]
    assert "set_int_max_str_digits" not in str(error)


@pytest.mark.parametrize("field", ["district", "status", "category"])
async def test_a_nul_byte_in_a_filter_answers_422_naming_it(api: Api, field: str) -> None:
    response = await api.client.get(URL, params={field: "robo\x00"}, headers=api.auth())
    error = await error_of(response, 422)
    assert fields_of(error) == [field]


@pytest.mark.parametrize("value", ["9" * 5000, "1e999", "nan", "١٢"])
async def test_a_point_that_is_not_a_number_answers_422(api: Api, value: str) -> None:
    response = await api.client.get(
        "/api/v1/districts/locate", params={"lat": value, "lon": "-77"}, headers=api.auth()
    )
    error = await error_of(response, 422)
    assert fields_of(error) == ["lat"]


# ------------------------------------------------------------- request limits


async def test_a_query_string_over_8_kib_answers_414_in_json(api: Api) -> None:
    response = await api.client.get(f"{URL}?district={'x' * 9000}", headers=api.auth())
    error = await error_of(response, 414)
    assert error["code"] == "uri_too_long"
    assert "8 KiB" in error["message"]


async def test_a_query_string_under_8_kib_is_served(api: Api) -> None:
    response = await api.client.get(f"{URL}?category={'robo,' * 1500}", headers=api.auth())
    assert response.status == 200


@pytest.mark.parametrize(
    "request_head",
    [
        f"GET {URL}?district={'x' * 70_000} HTTP/1.1\r\nHost: x\r\n\r\n",
        f"GET {URL} HTTP/1.1\r\nHost: x\r\nX-Padding: {'x' * 70_000}\r\n\r\n",
        f"GET {URL} HTTP/1.1\r\nHost: x\r\nX-Nul: a\x00b\r\n\r\n",
    ],
    ids=["request line past 64 KiB", "header past 64 KiB", "NUL in a header"],
)
async def test_what_the_http_parser_refuses_is_one_warning_line_not_an_error(
    api: Api, request_head: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Past aiohttp's own limits it answers a plain 400 before voicebridge runs (README,
    "HTTP API"); the log says so in one line, with no traceback."""
    server = api.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(request_head.encode("latin-1"))
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    assert status_line.split()[1:2] == [b"400"], status_line
    refused = [r for r in caplog.records if "refused by the HTTP parser" in r.getMessage()]
    assert len(refused) == 1
    assert refused[0].levelno == logging.WARNING
    assert refused[0].exc_info is None


async def test_a_header_over_8_kib_answers_431_in_json(api: Api) -> None:
    response = await api.client.get(URL, headers={**api.auth(), "X-Padding": "x" * 9000})
    error = await error_of(response, 431)
    assert error["code"] == "headers_too_large"


# ------------------------------------------------------------- raw headers


async def raw_request(api: Api, head: bytes) -> tuple[int, dict[str, Any]]:
    """Send ``head`` as it is (bytes no client library would send) and read the JSON
    answer."""
    server = api.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(head)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head_part, _, body = raw.partition(b"\r\n\r\n")
    status = int(head_part.split()[1])
    assert b"application/json" in head_part.lower(), raw
    return status, json.loads(body)


def _key_id(token: str) -> str:
    return token.split("_")[1]


@pytest.mark.parametrize(
    "token",
    [
        b"vb_\xff\xfe_x",
        b"vb_{key_id}_\xff\xfe",
        b"vb_{key_id}_\xc3\xb1",
        b"\xff\xfe",
        b"vb_\xe2\x82\xac_secret",
    ],
    ids=["bad key id", "bad secret of a real key", "utf-8 secret", "bytes only", "utf-8 id"],
)
async def test_a_key_with_bytes_past_ascii_answers_401(api: Api, token: bytes) -> None:
    """aiohttp decodes such bytes with surrogateescape; no key holds them (issue 8,
    findings 1): 401 unauthorized, nothing logged as an error."""
    token = token.replace(b"{key_id}", _key_id(api.keys["admin"]).encode())
    for _ in range(2):  # the second time, the key is remembered
        status, body = await raw_request(
            api,
            b"GET " + URL.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Authorization: Bearer " + token + b"\r\n\r\n",
        )
        assert status == 401, body
        assert body["error"]["code"] == "unauthorized"


# ------------------------------------------------------- ambiguous inputs


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('{"category": "robo", "category": "incendio"}', "category"),
        ('{"category": "robo", "location": {"lat": -12, "lat": -11, "lon": -77}}', "lat"),
    ],
)
async def test_a_key_given_twice_in_a_body_answers_422_naming_it(
    api: Api, body: str, key: str
) -> None:
    """Neither the first nor the last wins (issue 8, findings 13)."""
    response = await api.client.post(
        URL, data=body, headers={**api.auth(), "Content-Type": "application/json"}
    )
    error = await error_of(response, 422)
    assert error["code"] == "validation_failed"
    assert key in fields_of(error)[0]
    assert "más de una vez" in error["fields"][0]["message"]
    assert api.runtime.store.count() == 0


async def test_two_authorization_headers_answer_401(api: Api) -> None:
    """Which key would it be? Neither (issue 8, findings 13)."""
    status, body = await raw_request(
        api,
        (
            f"GET {URL} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            f"Authorization: Bearer {api.keys['admin']}\r\n"
            f"Authorization: Bearer {api.keys['sjl']}\r\n\r\n"
        ).encode(),
    )
    assert status == 401, body
    assert body["error"]["code"] == "unauthorized"
    assert "una sola" in body["error"]["message"]


async def test_two_idempotency_keys_answer_422_naming_the_header(api: Api) -> None:
    status, body = await raw_request(
        api,
        (
            f"POST {URL} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            f"Authorization: Bearer {api.keys['operator']}\r\n"
            "Idempotency-Key: console-00000001\r\nIdempotency-Key: console-00000002\r\n"
            'Content-Type: application/json\r\nContent-Length: 20\r\n\r\n{"category": "robo"}'
        ).encode(),
    )
    assert status == 422, body
    assert fields_of(body["error"]) == ["Idempotency-Key"]
    assert api.runtime.store.count() == 0


@pytest.mark.parametrize(
    ("path", "query", "name"),
    [
        (URL, "since=2026-01-01&since=2026-02-01", "since"),
        (URL, "limit=5&limit=6", "limit"),
        (URL, "until=2026-01-01&until=2026-01-01", "until"),
        (URL, "cursor=a&cursor=b", "cursor"),
        ("/api/v1/districts/locate", "lat=-12.1&lat=-12.0&lon=-77", "lat"),
        ("/api/v1/districts/locate", "lat=-12.1&lon=-77&lon=-76", "lon"),
    ],
)
async def test_a_single_valued_parameter_given_twice_answers_422_naming_it(
    api: Api, path: str, query: str, name: str
) -> None:
    """Neither the first nor the last wins (issue 8, findings 13)."""
    response = await api.client.get(f"{path}?{query}", headers=api.auth())
    error = await error_of(response, 422)
    assert fields_of(error) == [name]
    assert "una sola vez" in error["fields"][0]["message"]


async def test_repeatable_filters_stay_repeatable(api: Api) -> None:
    response = await api.client.get(
        f"{URL}?district=SJL&district=150122&status=received&status=dispatched",
        headers=api.auth(),
    )
    assert response.status == 200, await response.text()


@pytest.mark.parametrize("field", ["category", "district", "status"])
async def test_a_long_bad_value_is_not_echoed_whole(api: Api, field: str) -> None:
    """A 5,000-character value: the error quotes its first 40 characters (issue 8,
    findings 14)."""
    response = await api.client.get(URL, params={field: "x" * 5000}, headers=api.auth())
    error = await error_of(response, 422)
    assert fields_of(error) == [field]
    assert "x" * 41 not in str(error)
    assert "x" * 40 + "…" in error["fields"][0]["message"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "utf-8-sig"])
async def test_a_body_not_in_utf8_answers_400(api: Api, encoding: str) -> None:
    """The README: a body that is not UTF-8 gets 400 (json.loads would guess UTF-16
    and UTF-32 from bytes; issue 8, findings 14)."""
    body = '{"category": "robo"}'.encode(encoding)
    response = await api.client.post(
        URL, data=body, headers={**api.auth(), "Content-Type": "application/json"}
    )
    error = await error_of(response, 400)
    assert error["code"] == "invalid_json"
    assert api.runtime.store.count() == 0


@pytest.mark.parametrize("into", ["LIM-2026-00000١", "LIM-٢٠٢٦-000001", "LIM-2026-０００００１"])
async def test_merge_into_an_id_with_digits_past_ascii_names_the_field(api: Api, into: str) -> None:
    """Refused before the database sees it (README; issue 8, findings 12)."""
    created = await api.create()
    response = await api.client.post(
        f"{URL}/{created['id']}/merge",
        json={"into": into, "cause": "el mismo robo"},
        headers=api.auth(),
    )
    error = await error_of(response, 422)
    assert fields_of(error) == ["into"]
