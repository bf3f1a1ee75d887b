"""The console over HTTP: people with accounts, signed in through the form, and a
reader of its Server-Sent Events."""

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from routing.models import Medium
from tests.voicebridge.conftest import AiohttpClient
from voicebridge.apikeys import Role
from voicebridge.app import make_app
from voicebridge.runtime import Runtime

PASSWORD = "correct horse battery"
PEOPLE = {
    # username: (name, role, district)
    "ana.perez": ("Ana Pérez", Role.OPERATOR, "150132"),  # San Juan de Lurigancho
    "rosa.diaz": ("Rosa Díaz", Role.OPERATOR, "150122"),  # Miraflores
    "jefe": ("Jorge Salas", Role.SUPERVISOR, None),
}


@pytest.fixture
def media() -> frozenset[Medium]:
    return frozenset()  # nothing placed: the board's tests need no adapter


@dataclass
class Console:
    """A browser of one person: its cookies, and the page's CSRF token."""

    client: TestClient  # type: ignore[type-arg]
    csrf: str = ""

    async def page(self, path: str = "/console/") -> str:
        response = await self.client.get(path)
        assert response.status == 200, await response.text()
        text = await response.text()
        if found := re.search(r'name="csrf-token" content="([^"]+)"', text):
            self.csrf = found[1]
        return text


async def signed_in(aiohttp_client: AiohttpClient, runtime: Runtime, username: str) -> Console:
    name, role, district = PEOPLE[username]
    if runtime.accounts.get(username) is None:
        runtime.accounts.create(username, name=name, role=role, district=district,
                                password=PASSWORD)  # fmt: skip
    client: TestClient = await aiohttp_client(make_app(runtime.settings, runtime=runtime))  # type: ignore[type-arg]
    form = await (await client.get("/console/login")).text()
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token is not None
    done = await client.post(
        "/console/login",
        data={"username": username, "password": PASSWORD, "csrf": token[1]},
        allow_redirects=False,
    )
    assert done.status == 303, await done.text()
    console = Console(client=client)
    await console.page()
    return console


def board_config(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="board-config">(.*?)</script>', html,
                      re.S)  # fmt: skip
    assert found is not None
    data: dict[str, Any] = json.loads(found[1])
    return data


@dataclass
class Message:
    event: str
    data: Any
    id: str | None


@dataclass
class Stream:
    """An open ``/console/events`` response, read message by message."""

    response: ClientResponse
    last_id: str | None = None
    seen: list[Message] = field(default_factory=list)
    early: list[Message] = field(default_factory=list)  # read before "hello"

    async def next(self, within: float = 10.0) -> Message:
        if self.early:
            return self.early.pop(0)
        event, mid = "message", None
        data: list[str] = []
        async with asyncio.timeout(within):
            while True:
                raw = await self.response.content.readline()
                if not raw:
                    raise EOFError("the stream ended")
                line = raw.decode().rstrip("\r\n")
                if line == "":
                    if data or event != "message":
                        message = Message(event=event, data=json.loads("\n".join(data)), id=mid)
                        if mid is not None:
                            self.last_id = mid
                        self.seen.append(message)
                        return message
                    continue
                if line.startswith(":"):
                    continue
                key, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if key == "event":
                    event = value
                elif key == "data":
                    data.append(value)
                elif key == "id":
                    mid = value

    async def until(self, event: str, within: float = 10.0) -> Message:
        while True:
            message = await self.next(within)
            if message.event == event:
                return message

    async def rows_with(self, incident_id: str, within: float = 10.0) -> dict[str, Any]:
        """The next row of this incident the stream sends."""
        while True:
            message = await self.until("rows", within)
            for row in message.data["rows"]:
                if row["id"] == incident_id:
                    found: dict[str, Any] = row
                    return found

    async def gone(self, incident_id: str, within: float = 10.0) -> None:
        """Wait for the stream to take this incident off the board."""
        while True:
            message = await self.until("rows", within)
            if incident_id in message.data["gone"]:
                return

    def close(self) -> None:
        self.response.close()


async def open_stream(console: Console, query: str = "", last_id: str | None = None) -> Stream:
    headers = {"Accept": "text/event-stream"}
    if last_id is not None:
        headers["Last-Event-ID"] = last_id
    response = await console.client.get(f"/console/events?{query}", headers=headers)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/event-stream")
    stream = Stream(response=response)
    early = []
    while (message := await stream.next()).event != "hello":  # what it missed comes first
        early.append(message)
    stream.early = early
    return stream
