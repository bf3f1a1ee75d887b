"""Citizens report by SMS, end to end: the fake Twilio posts signed SMS to the real app
(aiohttp on loopback, SQLite, Redis), reads its TwiML, takes the messages the worker
sends through the twilio client and posts signed status callbacks to the app."""

import asyncio
import dataclasses
from datetime import timedelta

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from channels.twilio.segments import fits_one_segment
from channels.twilio.signature import sign
from channels.twilio.sim import DEMO_NUMBER
from routing import schema as t
from routing.analytics import BY_CODE, measure, phases
from routing.models import Source, Status
from routing.outbox import MessageState
from tests.conftest import FakeClock
from tests.voicebridge.citizens.conftest import CITIZEN, Sms, incident_of, row_of
from voicebridge.app import make_app


async def test_a_citizens_sms_becomes_an_incident_answered_with_its_number(sms: Sms) -> None:
    reply = await sms.says("robo en av abancay 123 cercado")
    assert fits_one_segment(reply), reply
    incident_id = incident_of(sms.runtime, reply)
    detail = sms.runtime.store.detail(incident_id)
    assert detail.incident.category == "robo"
    assert detail.incident.district == "150101"
    assert detail.incident.source is Source.SMS
    assert detail.incident.location.address == "Av. Abancay 123"
    told = sms.runtime.outbox.of_incident(row_of(sms.runtime, incident_id))
    assert [(m.purpose, m.state, m.body) for m in told] == [("reply", MessageState.SENT, reply)]
    [report] = detail.reports
    assert report.reporter.phone == CITIZEN
    assert report.external_id is not None
    assert report.external_id.startswith("SM")


async def test_a_repeated_sms_is_answered_as_the_first_time_and_stored_once(sms: Sms) -> None:
    first = await sms.fake.send_inbound(CITIZEN, "fuga de gas jr. huallaga 450")
    again = await sms.fake.redeliver(first.message_sid)
    assert sms.count(t.incidents) == 0  # answered at intake: a worker files it
    await sms.filed()
    again = await sms.fake.redeliver(first.message_sid)
    assert [m.body for m in again.replies] == [m.body for m in first.replies]
    assert sms.count(t.incidents) == 1
    assert sms.count(t.inbound_messages) == 1


async def test_without_a_valid_signature_it_is_403_and_nothing_is_stored(sms: Sms) -> None:
    form = {"MessageSid": "SM" + "a" * 32, "From": CITIZEN, "To": DEMO_NUMBER, "Body": "robo"}
    for headers in ({}, {"X-Twilio-Signature": "c2lnbmF0dXJh"}):
        response = await sms.client.post("/webhooks/twilio/sms", data=form, headers=headers)
        assert response.status == 403
        assert (await response.json())["error"]["code"] == "invalid_signature"
    assert sms.count(t.inbound_messages) == 0


async def test_news_reach_the_citizen_once_each_with_their_delivery_in_the_log(sms: Sms) -> None:
    reply = await sms.says("hay un buzon sin tapa en la av. brasil cuadra 5 jesus maria")
    incident_id = incident_of(sms.runtime, reply)
    await asyncio.to_thread(sms.runtime.dispatcher.dispatch, incident_id, actor="operator:test")
    await sms.jobs()
    news = [m for m in sms.fake.sent_to(CITIZEN) if m.direction == "outbound-api"]
    assert len(news) == 1, news
    assert incident_id in news[0].body
    assert "derivad" in news[0].body.lower()
    assert fits_one_segment(news[0].body)
    await sms.jobs()  # again: nobody is told twice
    assert len([m for m in sms.fake.sent_to(CITIZEN) if m.direction == "outbound-api"]) == 1
    [message] = [
        m
        for m in sms.runtime.outbox.of_incident(row_of(sms.runtime, incident_id))
        if m.purpose == "news"
    ]
    assert message.state is MessageState.DELIVERED  # the fake's signed status callback
    kinds = [e.kind.value for e in sms.runtime.store.events(incident_id)]
    assert "message_sent" in kinds
    assert "message_status" in kinds


async def test_para_stops_every_message_until_inicio(sms: Sms) -> None:
    reply = await sms.says("choque de combi en la av. arequipa 1500 lince")
    incident_id = incident_of(sms.runtime, reply)
    stop = await sms.fake.send_inbound(CITIZEN, "PARA")
    assert stop.ok
    assert stop.replies == ()  # Twilio's Advanced Opt-Out answered the keyword itself
    chat = sms.runtime.chats.get("sms", CITIZEN)
    assert chat is not None
    assert chat.opted_out_at is not None
    await asyncio.to_thread(sms.runtime.dispatcher.dispatch, incident_id, actor="operator:test")
    await sms.jobs()
    assert [m for m in sms.fake.sent_to(CITIZEN) if m.direction == "outbound-api"] == []
    news = [
        m
        for m in sms.runtime.outbox.of_incident(row_of(sms.runtime, incident_id))
        if m.chat == CITIZEN and m.purpose == "news"
    ]
    assert [m.state for m in news] == [MessageState.HELD]
    sms.fake.advanced_opt_out = False  # without it, voicebridge answers the keywords
    assert "Listo" in await sms.says("INICIO")
    await asyncio.to_thread(
        sms.runtime.store.transition,
        incident_id,
        Status.RESOLVED,
        actor="operator:test",
        cause="atendido",
    )
    await sms.jobs()
    told = [m.body for m in sms.fake.sent_to(CITIZEN) if m.direction == "outbound-api"]
    assert len(told) == 1
    assert incident_id in told[0]


async def test_estado_answers_the_state_of_the_citizens_own_incident_only(sms: Sms) -> None:
    reply = await sms.says("incendio en jr. huallaga 450 cercado")
    incident_id = incident_of(sms.runtime, reply)
    status = await sms.says(f"estado {incident_id}")
    assert incident_id in status
    assert "No encontramos" not in status
    stranger = await sms.says(f"ESTADO {incident_id}", sender="+51912345678")
    assert "No encontramos" in stranger


async def test_a_second_report_of_the_same_event_joins_it_and_is_told_its_number(
    sms: Sms,
) -> None:
    first = incident_of(sms.runtime, await sms.says("fuga de gas en jr. huallaga 450 cercado"))
    other = "+51912345678"
    reply = await sms.says("huele a gas en el jr huallaga 450, cercado de lima", other)
    ticket = incident_of(sms.runtime, reply)  # its own number, given at intake
    assert ticket != first
    assert fits_one_segment(reply)
    detail = sms.runtime.store.detail(first)
    assert len(detail.reports) == 2
    assert "report_joined" in [e.kind.value for e in detail.events]
    assert sms.count(t.incidents) == 1  # the number given names the incident it joined
    assert sms.runtime.store.get(ticket).id == first
    await sms.jobs()
    [told] = [m.body for m in sms.fake.sent_to(other) if m.direction == "outbound-api"]
    assert ticket in told
    assert first in told
    assert fits_one_segment(told)
    status = await sms.says(f"estado {ticket}", other)  # either number answers
    assert first in status
    assert "No encontramos" not in status


async def test_the_second_token_of_a_rotation_is_accepted(sms: Sms) -> None:
    form = {
        "MessageSid": "SM" + "b" * 32,
        "AccountSid": sms.runtime.settings.twilio_account_sid or "",
        "From": CITIZEN,
        "To": DEMO_NUMBER,
        "Body": "robo en av abancay 123 cercado",
    }
    url = sms.runtime.settings.public_url + "/webhooks/twilio/sms"
    rotated = dataclasses.replace(sms.runtime.settings, twilio_auth_token_secondary="a" * 32)
    app = make_app(rotated, runtime=dataclasses.replace(sms.runtime, settings=rotated))
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
    await client.start_server()
    try:
        signed = {"X-Twilio-Signature": sign("a" * 32, url, {k: [v] for k, v in form.items()})}
        response = await client.post("/webhooks/twilio/sms", data=form, headers=signed)
        assert response.status == 200
        assert "<Message>" in await response.text()
        wrong = {"X-Twilio-Signature": sign("c" * 32, url, {k: [v] for k, v in form.items()})}
        form["MessageSid"] = "SM" + "c" * 32
        response = await client.post("/webhooks/twilio/sms", data=form, headers=wrong)
        assert response.status == 403
    finally:
        await client.close()


async def test_a_body_too_large_is_413_and_a_malformed_field_422_named(sms: Sms) -> None:
    big = {"Body": "x" * (sms.runtime.settings.max_body_bytes + 1)}
    response = await sms.client.post("/webhooks/twilio/sms", data=big)
    assert response.status == 413
    url = sms.runtime.settings.public_url + "/webhooks/twilio/sms"
    form = {"MessageSid": "no-es-un-sid", "From": CITIZEN, "To": DEMO_NUMBER, "Body": "robo"}
    token = sms.runtime.settings.twilio_auth_token or ""
    signed = {"X-Twilio-Signature": sign(token, url, {k: [v] for k, v in form.items()})}
    response = await sms.client.post("/webhooks/twilio/sms", data=form, headers=signed)
    assert response.status == 422
    [field] = (await response.json())["error"]["fields"]
    assert field["field"] == "MessageSid"
    assert sms.count(t.inbound_messages) == 0


async def test_what_operators_read_has_no_control_characters(sms: Sms) -> None:
    reply = await sms.says("robo\x1b[31m en av abancay\u202e 123\r\ncercado\x00")
    detail = sms.runtime.store.detail(incident_of(sms.runtime, reply))
    for text in (detail.reports[0].text, detail.incident.summary):
        assert not any(ord(c) < 32 or c in "\u202e\x7f" for c in text), text


async def test_the_signature_is_checked_over_the_public_url_never_the_host(sms: Sms) -> None:
    """Behind a proxy the app sees another scheme, host and port than Twilio called: a
    signature made over what the app sees (or a forged Host header) is refused."""
    form = {
        "MessageSid": "SM" + "e" * 32,
        "AccountSid": sms.runtime.settings.twilio_account_sid or "",
        "From": CITIZEN,
        "To": DEMO_NUMBER,
        "Body": "robo",
    }
    token = sms.runtime.settings.twilio_auth_token or ""
    params = {k: [v] for k, v in form.items()}
    seen = str(sms.client.make_url("/webhooks/twilio/sms"))
    for url, host in ((seen, None), ("https://evil.example/webhooks/twilio/sms", "evil.example")):
        headers = {"X-Twilio-Signature": sign(token, url, params)}
        if host:
            headers["Host"] = host
            headers["X-Forwarded-Host"] = host
            headers["X-Forwarded-Proto"] = "https"
        response = await sms.client.post("/webhooks/twilio/sms", data=form, headers=headers)
        assert response.status == 403
    public = sms.runtime.settings.public_url + "/webhooks/twilio/sms"
    headers = {"X-Twilio-Signature": sign(token, public, params), "Host": "evil.example"}
    response = await sms.client.post("/webhooks/twilio/sms", data=form, headers=headers)
    assert response.status == 200


async def test_the_first_agency_that_confirms_and_a_merge_are_told_once_each(sms: Sms) -> None:
    other = "+51912345678"
    first = incident_of(sms.runtime, await sms.says("robo en av abancay 123 cercado"))
    second = incident_of(sms.runtime, await sms.says("incendio en jr. huallaga 450", other))
    await asyncio.to_thread(sms.runtime.dispatcher.dispatch, first, actor="operator:test")
    for agency in ("pnp", "serenazgo"):  # two agencies confirm: the first one is told
        await asyncio.to_thread(
            sms.runtime.dispatcher.acknowledge,
            first,
            agency,
            actor="supervisor:test",
            cause="confirmó por radio",
        )
    await sms.jobs()
    await asyncio.to_thread(
        sms.runtime.store.merge, second, first, actor="operator:test", cause="el mismo hecho"
    )
    await sms.jobs()
    told = [m.body for m in sms.fake.sent_to(CITIZEN) if m.direction == "outbound-api"]
    assert len(told) == 2  # derived to..., then the first agency that confirmed
    assert "confirm" in told[1].lower()
    merged = [m.body for m in sms.fake.sent_to(other) if m.direction == "outbound-api"]
    assert len(merged) == 1
    assert first in merged[0]
    assert second in merged[0]
    await sms.jobs()  # again: nobody is told twice
    citizens = [m for m in sms.fake.outbox if m.to in (CITIZEN, other)]
    assert len([m for m in citizens if m.direction == "outbound-api"]) == 3


async def test_an_sms_is_answered_with_its_number_before_a_worker_files_it(sms: Sms) -> None:
    result = await sms.fake.send_inbound(CITIZEN, "incendio en jr. huallaga 450 cercado")
    [reply] = result.replies
    number = incident_of(sms.runtime, reply.body)
    assert sms.count(t.incidents) == 0  # the TwiML did not wait for the filing
    assert await sms.filed() == 1
    incident = sms.runtime.store.get(number)
    assert incident.id == number
    assert incident.category == "incendio"
    [report] = sms.runtime.store.detail(number).reports
    assert report.source is Source.SMS
    [answer] = list(sms.runtime.outbox.of_incident(row_of(sms.runtime, number)))
    assert answer.body == reply.body
    assert answer.state is MessageState.SENT


async def test_an_sms_filed_late_counts_its_answering_from_its_arrival(
    sms: Sms, clock: FakeClock
) -> None:
    """The worker reads the SMS 40 s after it arrived: the report's contact began on
    arrival, and the analytics' answering interval is those 40 s, not zero."""
    result = await sms.fake.send_inbound(CITIZEN, "incendio en jr. huallaga 450 cercado")
    number = incident_of(sms.runtime, result.replies[0].body)
    arrived = clock.now()
    clock.advance(40)
    assert await sms.filed() == 1
    detail = sms.runtime.store.detail(number)
    [report] = detail.reports
    assert (report.began, report.received_at) == (arrived, arrived + timedelta(seconds=40))
    [answering] = measure(phases(detail), BY_CODE["answering"])
    assert answering.seconds == 40.0


async def test_a_completion_of_an_incident_that_ended_meanwhile_is_filed_on_its_own(
    sms: Sms,
) -> None:
    first = incident_of(sms.runtime, await sms.says("robo en av abancay 123 cercado"))
    sms.runtime.store.transition(first, Status.CANCELLED, actor="operator:test", cause="falsa")
    result = await sms.fake.send_inbound(CITIZEN, "gracias, apurense")  # says nothing new
    [reply] = result.replies
    assert first in reply.body  # the intake took it for a completion of the number's last
    await sms.filed()
    second = sms.runtime.store.detail(first)
    assert len(second.reports) == 1  # not added to the ended incident
    await sms.jobs()
    told = [m.body for m in sms.fake.sent_to(CITIZEN) if m.direction == "outbound-api"]
    refiled = [body for body in told if "cerrado" in body]
    assert len(refiled) == 1
    assert first in refiled[0]
    [new] = [w.strip(".,") for w in refiled[0].split() if w.startswith("LIM-") and first not in w]
    assert sms.runtime.store.get(new).status is Status.RECEIVED
    again = await sms.says("por favor rapido")  # the number's next one goes to the new one
    assert new in again
