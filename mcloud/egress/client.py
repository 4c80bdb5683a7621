"""One HTTP request to a user-chosen URL, through the egress policy.

`outbound_check` and `outbound_request` are what the apps call for the URLs users set
(EGRESS_ALLOW, EGRESS_ALLOW_HTTP); `guarded_request` is the mechanism under them.

The connection goes to the address the policy checked (so DNS cannot answer differently a
moment later), TLS is verified against the URL's host name, redirects are not followed, and
everything is bounded: a short timeout and a capped answer.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from mcloud.egress.policy import EgressPolicy, EgressRefused

MAX_ANSWER_BYTES = 64 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


def url_check(url: str, *, allow_http: bool = False) -> tuple[str, str, int]:
    """The scheme, host and port of `url`, or EgressRefused saying what is wrong with it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise EgressRefused("The URL is not valid.") from error
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        raise EgressRefused("The URL must start with https://.")
    if not parts.hostname:
        raise EgressRefused("The URL has no host.")
    if parts.username or parts.password:
        raise EgressRefused("The URL may not carry a user name or password.")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def guarded_request(
    method: str,
    url: str,
    *,
    policy: EgressPolicy,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    allow_http: bool = False,
    timeout: float = 5.0,
    tls_context: ssl.SSLContext | None = None,
    max_bytes: int = MAX_ANSWER_BYTES,
) -> Answer:
    """Send one request; raises EgressRefused before connecting anywhere not allowed, and
    OSError (timeouts included) or http.client.HTTPException when the exchange fails. The
    answer is cut at `max_bytes`."""
    with _exchange(
        method, url, policy=policy, body=body, headers=headers, allow_http=allow_http,
        timeout=timeout, tls_context=tls_context,
    ) as response:  # fmt: skip
        return Answer(response.status, response.read(max_bytes))


@contextmanager
def guarded_lines(
    url: str,
    *,
    policy: EgressPolicy,
    headers: dict[str, str] | None = None,
    allow_http: bool = False,
    timeout: float = 5.0,
    max_line: int = MAX_ANSWER_BYTES,
) -> Iterator[tuple[int, Iterator[bytes]]]:
    """GET `url` as `guarded_request` does, and yield (status, its lines), read as they
    come: for answers too large to hold (a provider's price list), in constant memory. A line
    longer than `max_line` raises http.client.LineTooLong."""
    with _exchange("GET", url, policy=policy, headers=headers, allow_http=allow_http,
                   timeout=timeout) as response:  # fmt: skip

        def lines() -> Iterator[bytes]:
            while line := response.readline(max_line + 1):
                if len(line) > max_line:
                    raise http.client.LineTooLong(f"a line of more than {max_line} bytes")
                yield line

        yield response.status, lines()


@contextmanager
def _exchange(
    method: str,
    url: str,
    *,
    policy: EgressPolicy,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    allow_http: bool = False,
    timeout: float = 5.0,
    tls_context: ssl.SSLContext | None = None,
) -> Iterator[http.client.HTTPResponse]:
    """One request to the address the policy checked, and its response, closed after."""
    scheme, host, port = url_check(url, allow_http=allow_http)
    addresses = policy.resolve(host, port)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection: http.client.HTTPConnection
    if scheme == "https":
        connection = _PinnedHTTPS(host, port, str(addresses[0]), timeout, tls_context)
    else:
        connection = _PinnedHTTP(host, port, str(addresses[0]), timeout)
    try:
        connection.request(method, target, body=body, headers=headers or {})
        yield connection.getresponse()
    finally:
        connection.close()


class _PinnedHTTP(http.client.HTTPConnection):
    """A connection to `host` (its Host header) made to one already-checked address."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(
        self,
        host: str,
        port: int,
        address: str,
        timeout: float,
        context: ssl.SSLContext | None,
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        try:
            # HTTPSConnection keeps its TLS context in `_context`, which typeshed leaves out.
            context: ssl.SSLContext = self._context  # type: ignore[attr-defined]
            self.sock = context.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise


def outbound_check(url: str) -> None:
    """Refuse (EgressRefused) a URL a user sets for mcloud to call (webhooks, notification
    channels), as it would be refused when called: at save time, so the user hears at once."""
    _, host, port = url_check(url, allow_http=settings.EGRESS_ALLOW_HTTP)
    outbound_policy().resolve(host, port)


def outbound_request(
    method: str, url: str, *, body: bytes = b"", headers: dict[str, str] | None = None
) -> Answer:
    """Call a URL a user set, through the policy (see `guarded_request`)."""
    return guarded_request(
        method, url, policy=outbound_policy(), body=body, headers=headers,
        allow_http=settings.EGRESS_ALLOW_HTTP, timeout=settings.EGRESS_TIMEOUT,
    )  # fmt: skip


def outbound_policy() -> EgressPolicy:
    return EgressPolicy(settings.EGRESS_ALLOW)
