"""The kinds of channel: how each takes its address, what of it pages may show, and how a
message is sent to it. One registry (`CHANNEL_KINDS`), so that no code elsewhere branches on
a channel's kind.

Every call to an address a user set goes through the guarded client
(`mcloud.egress.client`): checked when the channel is saved (`ChannelKind.target_from`) and
again when it is called. Errors raised here (`DeliveryFailed`) are display-safe: they name a
status or an error class, never the URL (a Slack or Teams URL is itself a credential), and
never the receiver's answer (which could echo it).
"""

from __future__ import annotations

import http.client
import json
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email

from accounts.notifications.formats import (
    Outgoing,
    email_message,
    slack_message,
    teams_message,
    webhook_body,
)
from mcloud.egress.client import outbound_check, outbound_request
from mcloud.egress.policy import EgressRefused
from mcloud.egress.signing import signed_headers, signing_secret_new
from mcloud.errors import ActionRefused

MAX_URL_CHARS = 2000
MAX_ADDRESSES = 20
# Answers worth trying again: the receiver's trouble, or too many calls; anything else (a
# 404 for a removed Slack webhook, a 403, a redirect, which is never followed) stays wrong.
_RETRIED_STATUSES = {408, 425, 429}


class DeliveryFailed(Exception):
    """A message was not delivered; `message` is display-safe, `retry` says whether trying
    again later may help."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retry = retry


Target = dict[str, Any]


@dataclass(frozen=True)
class ChannelKind:
    key: str
    label: str
    icon: str  # a Bootstrap icon's name
    summary: str
    address_label: str
    address_help: str
    target_from: Callable[[str], Target]  # the address as typed -> the stored target
    hint: Callable[[Target], str]  # what a page may show of the target
    send: Callable[[Target, Outgoing], None]  # raises DeliveryFailed
    signed: bool = False  # the target holds a signing secret, shown once
    secret_address: bool = True  # the address is a credential: forms never send it back


# --- addresses ----------------------------------------------------------------------------
def _url_target(raw: str) -> Target:
    url = raw.strip()
    if len(url) > MAX_URL_CHARS:
        raise ActionRefused(f"The URL is longer than {MAX_URL_CHARS} characters.")
    if not url.isascii() or any(char.isspace() or not char.isprintable() for char in url):
        raise ActionRefused("The URL may hold no spaces or non-ASCII characters: encode them.")
    try:
        outbound_check(url)
    except EgressRefused as refusal:
        raise ActionRefused(str(refusal)) from None
    return {"url": url}


def _signed_url_target(raw: str) -> Target:
    return {**_url_target(raw), "secret": signing_secret_new()}


def url_hint(target: Target) -> str:
    """The host and the last characters of the URL: enough to recognize, not to call."""
    url = str(target.get("url", ""))
    host = urlsplit(url).hostname or "?"
    return f"{host} …{url[-4:]}"


def _email_target(raw: str) -> Target:
    addresses = list(dict.fromkeys(a.lower() for a in raw.replace(",", " ").split()))
    if not addresses:
        raise ActionRefused("Give at least one e-mail address.")
    if len(addresses) > MAX_ADDRESSES:
        raise ActionRefused(
            f"Give at most {MAX_ADDRESSES} addresses (a mailing list counts as one)."
        )
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise ActionRefused(f"{address} is not an e-mail address.") from None
    return {"addresses": addresses}


def _email_hint(target: Target) -> str:
    return ", ".join(target.get("addresses", []))


# --- sending ------------------------------------------------------------------------------
def post_json(url: str, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    """POST `payload` through the guarded client; DeliveryFailed unless the answer is 2xx."""
    body = json.dumps(payload, sort_keys=True).encode()
    _post(url, body, {"Content-Type": "application/json", **(headers or {})})


def _post(url: str, body: bytes, headers: dict[str, str]) -> None:
    try:
        answer = outbound_request("POST", url, body=body, headers=headers)
    except EgressRefused as refusal:
        raise DeliveryFailed(f"Refused: {refusal}", retry=False) from None
    except (OSError, http.client.HTTPException) as error:
        raise DeliveryFailed(f"No answer ({error.__class__.__name__}).", retry=True) from None
    if 200 <= answer.status < 300:
        return
    retry = answer.status >= 500 or answer.status in _RETRIED_STATUSES
    raise DeliveryFailed(f"The receiver answered HTTP {answer.status}.", retry=retry)


def _slack_send(target: Target, message: Outgoing) -> None:
    post_json(target["url"], slack_message(message))


def _teams_send(target: Target, message: Outgoing) -> None:
    post_json(target["url"], teams_message(message))


def _webhook_send(target: Target, message: Outgoing) -> None:
    body = json.dumps(webhook_body(message), sort_keys=True).encode()
    headers = signed_headers(secret=target["secret"], message_id=message.message_id, body=body)
    _post(target["url"], body, headers)


def email_send(addresses: list[str], message: Outgoing, *, reason: str) -> None:
    """One e-mail to `addresses`; DeliveryFailed (retried) when the mail server fails."""
    subject, body = email_message(message, reason=reason)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, addresses)
    except (smtplib.SMTPException, OSError) as error:
        raise DeliveryFailed(
            f"The mail server failed ({error.__class__.__name__}).", retry=True
        ) from None


def _email_channel_send(target: Target, message: Outgoing) -> None:
    email_send(
        target["addresses"], message, reason="Sent to this e-mail channel of the organization."
    )


CHANNEL_KINDS: dict[str, ChannelKind] = {
    kind.key: kind
    for kind in (
        ChannelKind(
            key="email",
            label="E-mail",
            icon="envelope",
            summary="A team address or a few people, by e-mail.",
            address_label="E-mail addresses",
            address_help="One or more, separated by commas or spaces "
            "(a mailing list counts as one).",
            target_from=_email_target,
            hint=_email_hint,
            send=_email_channel_send,
            secret_address=False,
        ),
        ChannelKind(
            key="slack",
            label="Slack",
            icon="slack",
            summary="A Slack channel, through an incoming webhook (Block Kit messages).",
            address_label="Incoming webhook URL",
            address_help="From your Slack app's Incoming Webhooks page "
            "(https://hooks.slack.com/services/…). It is kept encrypted and never shown again.",
            target_from=_url_target,
            hint=url_hint,
            send=_slack_send,
        ),
        ChannelKind(
            key="teams",
            label="Microsoft Teams",
            icon="microsoft-teams",
            summary="A Teams channel or chat, through a workflow webhook (Adaptive Cards).",
            address_label="Workflow webhook URL",
            address_help='From the Teams workflow "Post to a channel when a webhook request is '
            'received". It is kept encrypted and never shown again.',
            target_from=_url_target,
            hint=url_hint,
            send=_teams_send,
        ),
        ChannelKind(
            key="webhook",
            label="Webhook",
            icon="braces",
            summary="Your own endpoint: JSON signed as the Standard Webhooks specification says.",
            address_label="Endpoint URL",
            address_help="An https:// address on the internet that accepts a JSON POST. It is "
            "kept encrypted and never shown again.",
            target_from=_signed_url_target,
            hint=url_hint,
            send=_webhook_send,
            signed=True,
        ),
    )
}


def channel_kind_choices() -> list[tuple[str, str]]:
    return [(kind.key, kind.label) for kind in CHANNEL_KINDS.values()]


def kind_get(key: str) -> ChannelKind:
    """The kind named `key`; ActionRefused when there is none."""
    try:
        return CHANNEL_KINDS[key]
    except KeyError:
        raise ActionRefused(f"There is no kind of channel named {key!r}.") from None
