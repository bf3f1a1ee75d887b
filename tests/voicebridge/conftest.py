from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from routing.models import Medium
from voicebridge.ami import bridge
from voicebridge.apikeys import Role
from voicebridge.app import make_app
from voicebridge.runtime import Runtime

AMI_MEDIA = bridge.MEDIA  # what the AMI adapter places: calls and talkgroups
AiohttpClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]


@dataclass
class Api:
    client: TestClient  # type: ignore[type-arg]
    runtime: Runtime
    keys: dict[str, str]

    def auth(self, who: str = "operator") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    async def create(self, who: str = "operator", **body: object) -> dict[str, Any]:
        payload = {"category": "robo", "description": "Robo de celular", **body}
        response = await self.client.post("/api/v1/incidents", json=payload, headers=self.auth(who))
        assert response.status == 201, await response.text()
        data: dict[str, Any] = await response.json()
        return data


@pytest.fixture
def media() -> frozenset[Medium]:
    """What the AMI adapter places: calls and talkgroups."""
    return AMI_MEDIA


@pytest.fixture
async def api(runtime: Runtime, aiohttp_client: AiohttpClient) -> Api:
    client = await aiohttp_client(make_app(runtime.settings, runtime=runtime))
    keys = {
        "operator": runtime.apikeys.create(Role.OPERATOR, label="central")[0],
        "sjl": runtime.apikeys.create(Role.OPERATOR, district="150132", label="central SJL")[0],
        "supervisor": runtime.apikeys.create(Role.SUPERVISOR, label="supervisión")[0],
        "admin": runtime.apikeys.create(Role.ADMIN, label="admin")[0],
    }
    return Api(client=client, runtime=runtime, keys=keys)
