"""``voicebridge tetra`` (issue 12, point 6), the fake radio's control API and ``demo
radio``: the AT commands a technician would type, a payload explained field by field,
the PEI traffic serve publishes, and a radio played through the simulator."""

import asyncio
import json
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from routing.config import parse_config
from tetra import sds
from tetra.client import PeiClient, PeiTarget, SdsReceived, Timing
from tetra.identity import Network, Tsi
from voicebridge.cli import main
from voicebridge.cli_tetra import PEI_CHANNEL, explain
from voicebridge.fake_radio import control_app, sim_for
from voicebridge.rules import read_rules_file


def test_sds_encode_prints_the_at_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tetra", "sds-encode", "--to", "1001", "--ref", "42", "INC-42 Túpac Amaru"],
                environ={}) == 0  # fmt: skip
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "AT+CTSDS=12,0,0,0,0",
        "AT+CMGS=1001,176",
        "82042A01494E432D34322054FA70616320416D617275<Ctrl-Z>",
    ]


def test_sds_encode_writes_a_tsi_of_another_network_in_full(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["tetra", "sds-encode", "--to", "262100101234567", "hola"], environ={}) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "AT+CTSDS=12,1,0,0,0"
    assert out[1].startswith("AT+CMGS=262100101234567,")


def test_sds_encode_refuses_what_is_not_a_radio(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tetra", "sds-encode", "--to", "12ab", "hola"], environ={}) == 2
    assert "--to: «12ab» is not a TETRA identity" in capsys.readouterr().err


def test_sds_decode_explains_a_text_field_by_field(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tetra", "sds-decode", "8A02C981045A8F050003C90201746573746D657373616765"],
                environ={}) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "protocol        0x8A message with user data header" in out
    assert "report asked    none" in out
    assert "reference       201 (0xC9)" in out
    assert "timestamp       11/04 10:15 (local time)" in out
    assert "part            1 of 2, concatenation reference 201" in out
    assert "text            «testmessage» (11 characters)" in out


@pytest.mark.parametrize(
    ("payload", "line"),
    [
        ("8004", "status          32772 (0x8004, the network's own)"),
        ("7ECA", "short report    received"),
        ("821000C9", "delivery        0x00 received (delivered)"),
        ("82104BC9", "delivery        0x4B destination_not_registered (failed)"),
    ],
)
def test_sds_decode_explains_statuses_and_reports(
    payload: str, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tetra", "sds-decode", payload], environ={}) == 0
    assert line in capsys.readouterr().out


def test_sds_decode_refuses_what_is_not_an_sds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tetra", "sds-decode", "0F0102"], environ={}) == 2
    assert "not an SDS: protocol 0x0F is not a text protocol" in capsys.readouterr().err


def test_every_field_is_named() -> None:
    data = bytes.fromhex("82039C5101020301746573746D657373616765")
    rows = dict(explain(12, data, sds.decode(12, data)))
    assert rows["store/forward"] == "validity 10, address type 1, address 010203"


async def test_the_fake_radio_plays_the_routing_file_s_radios() -> None:
    content, source = read_rules_file(None)
    config = parse_config(content, source)
    sim = sim_for(config, speed=0.01)
    assert len(sim.radios) == 43  # each district's serenazgo chief
    await sim.start()
    events: list[object] = []
    client = PeiClient(
        PeiTarget.parse(f"tcp://127.0.0.1:{sim.port}"),
        Network(716, 1),
        events.append,
        timing=Timing(command=1.0),
    )
    client.start()
    server = TestClient(TestServer(control_app(sim)))
    await server.start_server()
    try:
        await asyncio.wait_for(client.ready.wait(), 5)
        # an alert to serenazgo's radio 2001 is answered with Lima's "received", 32769
        [alert] = sds.text_messages("INC LIM-2026-000001 ROBO", 5)
        await client.send_sds(Tsi(716, 1, 2001), alert)
        for _ in range(200):
            if any(isinstance(e, SdsReceived) and isinstance(e.pdu, sds.Status) for e in events):
                break
            await asyncio.sleep(0.01)
        statuses = [e.pdu for e in events if isinstance(e, SdsReceived)]
        assert sds.Status(value=32769) in statuses
        # the control API plays a radio, and says what the centre's radio sent
        answer = await server.post("/radios/2001/status", json={"value": 32770})
        assert await answer.json() == {"delivered": True}
        sent = await (await server.get("/sent")).json()
        assert any(s["to"] == 2001 and s["text"] == "INC LIM-2026-000001 ROBO" for s in sent)
        bad = await server.post("/radios/2001/status", json={"value": "fast"})
        assert bad.status == 422
        assert "value" in (await bad.json())["error"]
    finally:
        await server.close()
        await client.stop()
        await sim.stop()


def test_demo_radio_says_when_no_fake_radio_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "radio", "status", "2001", "32770"], environ={}) == 1
    assert "no fake radio is running" in capsys.readouterr().err


def test_serve_s_trace_reaches_the_monitor_channel() -> None:
    from voicebridge.app import pei_trace_line

    line = json.loads(pei_trace_line("<", b"+CTSDSR: 13,2001,0,100,0,16\r\n8004\r\n"))
    assert line["dir"] == "<"
    assert line["text"] == "+CTSDSR: 13,2001,0,100,0,16\\r\\n8004\\r\\n"
    assert PEI_CHANNEL == "voicebridge:pei"
