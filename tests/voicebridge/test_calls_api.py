"""The calls of an incident through the API: agencies and their tries, the legs of the
room, lines added and dropped by hand, manual acknowledgement, cancellation. Asterisk's
reports are fed straight into the call events here (the bridge has its own tests)."""

from typing import Any

import pytest

from routing.models import AckMethod, Medium
from tests.voicebridge.conftest import Api

URL = "/api/v1/incidents"


async def dispatched(api: Api, **body: object) -> tuple[str, dict[str, Any]]:
    created = await api.create("operator", **{"category": "robo", "district": "150132", **body})
    incident_id = created["id"]
    response = await api.client.post(f"{URL}/{incident_id}/dispatch", headers=api.auth())
    assert response.status == 200, await response.text()
    return incident_id, await response.json()


async def calls_of(api: Api, incident_id: str, who: str = "operator") -> dict[str, Any]:
    response = await api.client.get(f"{URL}/{incident_id}/calls", headers=api.auth(who))
    assert response.status == 200, await response.text()
    data: dict[str, Any] = await response.json()
    return data


async def test_dispatch_starts_the_calls_and_the_operator_watches_them(api: Api) -> None:
    incident_id, route = await dispatched(api)
    calls = await calls_of(api, incident_id)
    agencies = [a["agency"] for a in route["agencies"]]
    assert [a["agency"] for a in calls["agencies"]] == agencies
    assert {a["state"] for a in calls["agencies"]} == {"pending"}
    assert [len(a["tries"]) for a in calls["agencies"]] == [1] * len(agencies)
    first = calls["agencies"][0]["tries"][0]
    assert (first["number"], first["outcome"]) == (1, "pending")
    roles = [leg["role"] for leg in calls["legs"]]
    assert roles == ["operator"] + ["responder"] * len(agencies)
    operator = calls["legs"][0]
    assert operator["label"] == "Consola del operador"
    assert operator["dial"] == "PJSIP/012089201@epr-trunk"  # the SJL central
    assert {leg["state"] for leg in calls["legs"]} == {"pending"}
    assert calls["legs"][1]["prompt"] is True  # a responder's phone goes through the prompt

    # Asterisk reports: the responder of the first agency presses 1
    events = api.runtime.calls.contacts
    claimed = {c.contact.ref: c for c in events.claim(Medium.VOICE, "test")}
    responder = calls["legs"][1]["channel_id"]
    assert responder in claimed
    events.answered(responder)
    events.acknowledged(responder, AckMethod.KEYPRESS, "aceptó con la tecla 1")
    calls = await calls_of(api, incident_id)
    acked = calls["agencies"][0]
    assert acked["state"] == "acknowledged"
    assert acked["acknowledged"]["method"] == "keypress"
    assert acked["tries"][0]["outcome"] == "acknowledged"
    assert calls["incident"]["status"] == "acknowledged"
    detail = await (await api.client.get(f"{URL}/{incident_id}", headers=api.auth())).json()
    kinds = [e["kind"] for e in detail["timeline"]]
    assert kinds.count("acknowledged") == 1
    assert "leg_requested" in kinds
    assert "calling" in kinds


async def test_a_supervisor_acknowledges_by_hand(api: Api) -> None:
    incident_id, route = await dispatched(api)
    agency = route["agencies"][-1]["agency"]
    url = f"{URL}/{incident_id}/acks"
    body = {"agency": agency, "cause": "confirmado por radio"}
    response = await api.client.post(url, json=body, headers=api.auth())
    assert response.status == 403  # operators cannot
    response = await api.client.post(url, json=body, headers=api.auth("supervisor"))
    assert response.status == 201
    data = await response.json()
    [mine] = [a for a in data["agencies"] if a["agency"] == agency]
    assert mine["state"] == "acknowledged"
    assert mine["acknowledged"]["method"] == "manual"
    assert mine["acknowledged"]["actor"].startswith("supervisor:")
    assert mine["tries"][0]["outcome"] == "cancelled"  # its call in flight stops
    # a second click changes nothing
    again = await api.client.post(url, json=body, headers=api.auth("supervisor"))
    assert again.status == 200
    detail = await (await api.client.get(f"{URL}/{incident_id}", headers=api.auth())).json()
    assert [a["agency"] for a in detail["acks"]] == [agency]


async def test_acknowledging_what_cannot_be(api: Api) -> None:
    incident_id, _ = await dispatched(api)
    url = f"{URL}/{incident_id}/acks"
    sup = api.auth("supervisor")
    response = await api.client.post(url, json={"agency": "enel", "cause": "xyz"}, headers=sup)
    assert response.status == 404
    assert (await response.json())["error"]["message"] == (
        f"enel no está entre las entidades despachadas a {incident_id}"
    )
    response = await api.client.post(url, json={"agency": "PNP;x", "cause": "xyz"}, headers=sup)
    assert response.status == 422
    [field] = (await response.json())["error"]["fields"]
    assert field["field"] == "agency"
    created = await api.create(category="robo", district="150132")
    response = await api.client.post(
        f"{URL}/{created['id']}/acks", json={"agency": "pnp", "cause": "xyz"}, headers=sup
    )
    assert response.status == 409
    assert (await response.json())["error"]["message"] == (
        f"{created['id']} está recibido: no se puede registrar una confirmación"
    )


async def test_an_ack_names_every_bad_field_at_once(api: Api) -> None:
    """An agency not in the directory is a bad field like the others, in the same 422
    (issue 8, findings 12)."""
    incident_id, _ = await dispatched(api)
    response = await api.client.post(
        f"{URL}/{incident_id}/acks",
        json={"agency": "zzz", "cause": "x"},
        headers=api.auth("supervisor"),
    )
    assert response.status == 422
    fields = {f["field"]: f["message"] for f in (await response.json())["error"]["fields"]}
    assert set(fields) == {"agency", "cause"}
    assert "directorio" in fields["agency"]


async def test_dropping_a_leg_twice_answers_the_same(api: Api) -> None:
    """A retried DELETE answers as the first did and logs nothing more (issue 8,
    findings 9)."""
    incident_id, _ = await dispatched(api)
    url = f"{URL}/{incident_id}/legs"
    added = await api.client.post(url, json={"number": "987 654 321"}, headers=api.auth())
    assert added.status == 201
    leg = (await added.json())["channel_id"]
    first = await api.client.delete(f"{url}/{leg}", headers=api.auth())
    second = await api.client.delete(f"{url}/{leg}", headers=api.auth())
    assert (first.status, second.status) == (200, 200)
    assert await first.json() == await second.json()
    detail = await (await api.client.get(f"{URL}/{incident_id}", headers=api.auth())).json()
    assert [e["kind"] for e in detail["timeline"]].count("leg_dropped") == 1


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("+1 202 555 0100", "solo se marcan números del Perú"),
        ("0012025550100", "solo se marcan números del Perú"),
        ("+56 9 6123 4567", "solo se marcan números del Perú"),
        ("987654321 ext. 1234", "anexo"),
        ("987654321;ext=12", "anexo"),
        ("987654321 x1234", "anexo"),
        ("(01) 427-0000 anexo 5", "anexo"),
    ],
)
async def test_a_number_that_would_be_dialled_wrong_is_refused(
    api: Api, number: str, reason: str
) -> None:
    """A number abroad would lose its country code in the trunk's national dial string,
    an extension would be dialled as more digits: 422 naming the field (issue 8,
    findings 4)."""
    incident_id, _ = await dispatched(api)
    before = len((await calls_of(api, incident_id))["legs"])
    response = await api.client.post(
        f"{URL}/{incident_id}/legs", json={"number": number, "label": "x"}, headers=api.auth()
    )
    assert response.status == 422, await response.text()
    [field] = (await response.json())["error"]["fields"]
    assert field["field"] == "number"
    assert reason in field["message"]
    assert len((await calls_of(api, incident_id))["legs"]) == before


@pytest.mark.parametrize(
    ("number", "dial"),
    [
        ("+51 987 654 321", "PJSIP/987654321@epr-trunk"),
        ("01 427 0000", "PJSIP/014270000@epr-trunk"),
        ("+51 1 4270000", "PJSIP/014270000@epr-trunk"),
    ],
)
async def test_numbers_in_peru_are_dialled_as_dialled_in_peru(
    api: Api, number: str, dial: str
) -> None:
    incident_id, _ = await dispatched(api)
    response = await api.client.post(
        f"{URL}/{incident_id}/legs", json={"number": number}, headers=api.auth()
    )
    assert response.status == 201, await response.text()
    assert (await response.json())["dial"] == dial


async def test_the_operator_adds_and_drops_lines(api: Api) -> None:
    incident_id, _ = await dispatched(api)
    url = f"{URL}/{incident_id}/legs"
    response = await api.client.post(
        url, json={"number": "987 654 321", "label": "Vecino que vio el robo"}, headers=api.auth()
    )
    assert response.status == 201
    guest = await response.json()
    assert (guest["role"], guest["state"], guest["label"]) == (
        "guest",
        "pending",
        "Vecino que vio el robo",
    )
    assert guest["dial"] == "PJSIP/987654321@epr-trunk"
    assert guest["prompt"] is False  # straight into the room
    response = await api.client.post(
        url, json={"target": "centre/supervisor/1"}, headers=api.auth()
    )
    assert response.status == 201
    assert (await response.json())["dial"] == "PJSIP/017817967@epr-trunk"
    response = await api.client.post(url, json={"operator": True}, headers=api.auth())
    assert response.status == 201
    assert (await response.json())["role"] == "operator"

    # dropping a line not called yet cancels it; a live one is hung up
    response = await api.client.delete(f"{url}/{guest['channel_id']}", headers=api.auth())
    assert response.status == 200
    assert (await response.json())["state"] == "cancelled"
    events = api.runtime.calls.contacts
    claimed = [c.contact.ref for c in events.claim(Medium.VOICE, "test")]
    supervisor = next(
        leg["channel_id"]
        for leg in (await calls_of(api, incident_id))["legs"]
        if leg["dial"] == "PJSIP/017817967@epr-trunk"
    )
    assert supervisor in claimed
    response = await api.client.delete(f"{url}/{supervisor}", headers=api.auth())
    assert (await response.json())["hangup_requested"] is True
    assert supervisor in {leg.ref for leg in events.to_withdraw(Medium.VOICE)}
    response = await api.client.delete(f"{url}/vb-0000", headers=api.auth())
    assert response.status == 404
    detail = await (await api.client.get(f"{URL}/{incident_id}", headers=api.auth())).json()
    assert [e["cause"] for e in detail["timeline"] if e["kind"] == "leg_dropped"] == [
        "se retira «Vecino que vio el robo» de la sala",
        "se retira «Mesa de supervisión del CIC-SC» de la sala",
    ]


async def test_lines_that_cannot_be_added(api: Api) -> None:
    incident_id, _ = await dispatched(api)
    url = f"{URL}/{incident_id}/legs"
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({}, "body", "dé exactamente uno de target, number u operator"),
        (
            {"target": "centre/supervisor/1", "number": "987654321"},
            "body",
            "dé exactamente uno de target, number u operator",
        ),
        ({"number": "12"}, "number", "no es un número de teléfono válido"),
        (
            {"number": "987654321\r\nAction: Command"},
            "number",
            "no se admiten caracteres de control",
        ),
        ({"target": "Local/s@x,1"}, "target", "debe ser una línea del directorio"),
        ({"target": "nadie/1"}, "target", "no hay en el directorio una línea ni un grupo"),
        (
            {"target": "centre/supervisor/2"},
            "target",
            "no hay en el directorio una línea",
        ),  # an SMS
    ]
    for body, field, message in cases:
        response = await api.client.post(url, json=body, headers=api.auth())
        assert response.status == 422, body
        fields = (await response.json())["error"]["fields"]
        assert fields[0]["field"] == field, body
        assert message in fields[0]["message"], (body, fields)
    # another district's central cannot touch this incident
    response = await api.client.post(url, json={"number": "987654321"}, headers=api.auth("sjl"))
    assert response.status == 201
    other, _ = await dispatched(api, district="150122")
    response = await api.client.post(
        f"{URL}/{other}/legs", json={"number": "987654321"}, headers=api.auth("sjl")
    )
    assert response.status == 403


async def test_cancelling_the_incident_hangs_up_every_call(api: Api) -> None:
    incident_id, _ = await dispatched(api)
    events = api.runtime.calls.contacts
    [operator, *_] = events.claim(Medium.VOICE, "test")
    events.answered(operator.contact.ref)
    events.joined(operator.contact.ref)
    response = await api.client.post(
        f"{URL}/{incident_id}/status",
        json={"status": "cancelled", "cause": "llamada falsa"},
        headers=api.auth(),
    )
    assert response.status == 200
    calls = await calls_of(api, incident_id)
    assert {a["state"] for a in calls["agencies"]} == {"cancelled"}
    assert {t["outcome"] for a in calls["agencies"] for t in a["tries"]} == {"cancelled"}
    assert {leg["hangup_requested"] for leg in calls["legs"]} == {True}
    assert {leg.ref for leg in events.to_withdraw(Medium.VOICE)} == {
        leg["channel_id"] for leg in calls["legs"]
    }
    response = await api.client.post(
        f"{URL}/{incident_id}/legs", json={"operator": True}, headers=api.auth()
    )
    assert response.status == 409
