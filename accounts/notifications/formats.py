"""What each kind of channel is sent: the same notification as a Slack Block Kit message, a
Microsoft Teams Adaptive Card, a Standard Webhooks JSON body, or an e-mail.

Pure functions of an `Outgoing` message: no database, no network. Everything in a message is
display-safe (titles, counts, names, a link into mcloud); user-chosen names are escaped where
the format would read them as markup, so a deployment's name cannot become a link.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.template.loader import render_to_string

SLACK_HEADER_CHARS = 150  # Block Kit's limit for a header's text
SLACK_TEXT_CHARS = 3000  # ... for a section's text
SLACK_FIELDS = 10  # ... fields per section
ADAPTIVE_CARD_VERSION = "1.4"  # what Teams renders in channels and chats


@dataclass(frozen=True)
class Outgoing:
    """A notification as one channel gets it."""

    event: str
    event_label: str
    organization: str
    organization_slug: str
    title: str
    text: str
    link: str  # absolute, into mcloud; "" when there is nothing to open
    occurred_at: datetime
    message_id: str  # the same for every attempt of one delivery
    facts: list[tuple[str, str]] = field(default_factory=list)


def _slack_escape(text: str) -> str:
    """Slack's mrkdwn reads &, < and > as markup (`<url|label>` is a link)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(message: Outgoing) -> dict[str, Any]:
    """A Slack incoming-webhook message: Block Kit `blocks`, with `text` as the fallback that
    notifications and screen readers use."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": message.title[:SLACK_HEADER_CHARS]},
        }
    ]
    if message.text:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _slack_escape(message.text)[:SLACK_TEXT_CHARS]},
            }
        )
    if message.facts:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{_slack_escape(label)}*\n{_slack_escape(value)}"}
                    for label, value in message.facts[:SLACK_FIELDS]
                ],
            }
        )
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": _slack_escape(f"{message.organization} · {message.event_label}"),
                }
            ],
        }
    )
    if message.link:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open in mcloud"},
                        "url": message.link,
                    }
                ],
            }
        )
    return {"text": _slack_escape(message.title), "blocks": blocks}


def _card_escape(text: str) -> str:
    """Adaptive Cards read a subset of Markdown (CommonMark) in TextBlocks and facts, links
    `[label](url)` among it: brackets are backslash-escaped so that no name becomes a link.
    Emphasis is left alone (harmless, and escaping every mark would show in dates and ids)."""
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def teams_message(message: Outgoing) -> dict[str, Any]:
    """A message for a Teams workflow ("When a Teams webhook request is received"): one
    attachment holding an Adaptive Card."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": _card_escape(message.title),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        }
    ]
    if message.text:
        body.append({"type": "TextBlock", "text": _card_escape(message.text), "wrap": True})
    if message.facts:
        body.append(
            {
                "type": "FactSet",
                "facts": [
                    {"title": _card_escape(label), "value": _card_escape(value)}
                    for label, value in message.facts
                ],
            }
        )
    body.append(
        {
            "type": "TextBlock",
            "text": _card_escape(f"{message.organization} · {message.event_label}"),
            "isSubtle": True,
            "size": "Small",
            "wrap": True,
        }
    )
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": ADAPTIVE_CARD_VERSION,
        "body": body,
    }
    if message.link:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": "Open in mcloud", "url": message.link}
        ]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def webhook_body(message: Outgoing) -> dict[str, Any]:
    """The JSON of a generic webhook, in the shape the Standard Webhooks specification
    recommends: `type`, `timestamp` and the event's `data`."""
    return {
        "type": message.event,
        "timestamp": message.occurred_at.isoformat(),
        "data": {
            "organization": message.organization_slug,
            "event": message.event,
            "title": message.title,
            "text": message.text,
            "url": message.link or None,
            "facts": dict(message.facts),
        },
    }


def email_message(message: Outgoing, *, reason: str) -> tuple[str, str]:
    """(subject, body) of the e-mail; `reason` says why the reader gets it."""
    context = {"message": message, "reason": reason}
    subject = render_to_string("accounts/email/notification_subject.txt", context)
    body = render_to_string("accounts/email/notification_message.txt", context)
    return " ".join(subject.split()), body
