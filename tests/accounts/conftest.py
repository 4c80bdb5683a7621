"""Receivers of notifications on this machine: a small HTTP server on 127.0.0.1 (allowed by
exact host:port in EGRESS_ALLOW, as an operator would) that checks what it is sent the way
Slack, a Teams workflow and a Standard Webhooks receiver do, and answers 400 or 401 when the
shape or the signature is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from standardwebhooks import Webhook

from emulators.base import FakeServer, Request, Response

SLACK_BLOCKS = {"header", "section", "context", "actions", "divider"}


def slack_problem(payload: Any) -> str | None:
    """What Slack's incoming webhooks would refuse in `payload`, or None."""
    if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
        return "no_text"
    blocks = payload.get("blocks")
    if not isinstance(blocks, list) or not blocks or len(blocks) > 50:
        return "invalid_blocks"
    for block in blocks:
        if block.get("type") not in SLACK_BLOCKS:
            return "invalid_blocks"
        if block["type"] == "header" and len(block["text"]["text"]) > 150:
            return "invalid_blocks"
        if block["type"] == "section" and len(block.get("fields", [])) > 10:
            return "invalid_blocks"
    return None


def teams_problem(payload: Any) -> str | None:
    """What a Teams workflow's "post card" step would refuse in `payload`, or None."""
    if not isinstance(payload, dict) or payload.get("type") != "message":
        return "not a message"
    attachments = payload.get("attachments")
    if not isinstance(attachments, list) or len(attachments) != 1:
        return "one attachment expected"
    attachment = attachments[0]
    if attachment.get("contentType") != "application/vnd.microsoft.card.adaptive":
        return "not an Adaptive Card attachment"
    card = attachment.get("content") or {}
    if card.get("type") != "AdaptiveCard" or not card.get("version") or not card.get("body"):
        return "not an Adaptive Card"
    return None


class Receivers:
    """The server, what each route received, and the secrets webhook routes verify with."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.received: list[Request] = []
        self.secrets: dict[str, str] = {}  # path -> whsec_ secret

    @property
    def url(self) -> str:
        return self.server.url

    def on(self, prefix: str) -> list[Request]:
        return [r for r in self.received if r.path.startswith(prefix)]

    def fail_next(self, count: int = 1) -> None:
        """The next `count` requests get HTTP 500 (after being recorded)."""
        self.server.faults.fail_next("500", count)


@pytest.fixture
def receivers(settings) -> Iterator[Receivers]:
    with FakeServer(name="notification-receivers") as server:
        found = Receivers(server)

        @server.route("POST", r"/slack/.*")
        def slack(request: Request) -> Response:
            found.received.append(request)
            problem = slack_problem(request.json())
            return Response(400, problem.encode()) if problem else Response(200, b"ok")

        @server.route("POST", r"/teams/.*")
        def teams(request: Request) -> Response:
            found.received.append(request)
            problem = teams_problem(request.json())
            return Response(400, problem.encode()) if problem else Response(202, b"")

        @server.route("POST", r"/hook/.*")
        def hook(request: Request) -> Response:
            found.received.append(request)
            try:
                Webhook(found.secrets[request.path]).verify(request.body, dict(request.headers))
            except Exception:  # noqa: BLE001 - any failure to verify is a refusal
                return Response(401, b"bad signature")
            return Response(204, b"")

        settings.EGRESS_ALLOW = frozenset({server.url.removeprefix("http://")})
        settings.EGRESS_ALLOW_HTTP = True
        yield found
