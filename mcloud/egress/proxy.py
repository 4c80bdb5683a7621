"""A forward proxy on a Unix socket that lets through only what the egress policy allows.

A Terraform sandbox has no network but its own loopback; this proxy, reached through a socket
bound into the sandbox, is its only way out. Providers honour `HTTPS_PROXY` and ask for a
tunnel (`CONNECT host:443`); plain `http://` requests arrive in absolute form
(`GET http://host:port/path`) and are forwarded one per connection. Every target is resolved
and checked here, on the worker, and the connection goes to the checked address; a refusal is
a 403 whose body says why, and is reported through `on_refused` (the run's log).
"""

from __future__ import annotations

import logging
import os
import selectors
import socket
import threading
from collections.abc import Callable
from contextlib import suppress
from typing import cast
from urllib.parse import urlsplit

from mcloud.egress.policy import EgressPolicy, EgressRefused

logger = logging.getLogger(__name__)
MAX_HEADER_BYTES = 64 * 1024
CONNECT_TIMEOUT = 10.0
IDLE_TIMEOUT = 600.0  # a tunnel with no traffic either way for this long is closed
_HOP_BY_HOP = {b"proxy-connection", b"proxy-authorization", b"connection", b"keep-alive"}


class EgressProxy:
    """Serve the proxy on `path` while the `with` block lasts."""

    def __init__(
        self,
        policy: EgressPolicy,
        path: str | os.PathLike[str],
        on_refused: Callable[[str, str], None] | None = None,
    ) -> None:
        self.policy = policy
        self.path = str(path)
        self.on_refused = on_refused or (lambda target, reason: None)
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._open: set[socket.socket] = set()
        self._mutex = threading.Lock()

    def __enter__(self) -> EgressProxy:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.path)
        listener.listen(64)
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, name="egress-proxy", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._mutex:
            for sock in self._open:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        with suppress(FileNotFoundError):
            os.unlink(self.path)

    def _accept(self) -> None:
        while (listener := self._listener) is not None:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(
                target=self._serve, args=(client,), name="egress-proxy-conn", daemon=True
            ).start()

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        self._track(client)
        try:
            client.settimeout(CONNECT_TIMEOUT)
            head, rest = _read_head(client)
            if head is None:
                return
            method, target, version, headers = _parse(head)
            if method == b"CONNECT":
                host, _, port = target.decode("latin-1").rpartition(":")
                upstream = self._dial(client, host, port)
                if upstream is None:
                    return
                client.sendall(version + b" 200 Connection established\r\n\r\n")
            else:
                url = urlsplit(target.decode("latin-1"))
                if url.scheme != "http" or not url.hostname:
                    _reply(client, 400, "Send https through CONNECT, http in absolute form.")
                    return
                upstream = self._dial(client, url.hostname, str(url.port or 80))
                if upstream is None:
                    return
                path = (url.path or "/") + (f"?{url.query}" if url.query else "")
                kept = [h for h in headers if _header_name(h) not in _HOP_BY_HOP]
                request = b"\r\n".join(
                    [method + b" " + path.encode("latin-1") + b" " + version, *kept]
                )
                upstream.sendall(request + b"\r\nConnection: close\r\n\r\n" + rest)
            _relay(client, upstream)
        except (OSError, ValueError) as error:
            logger.debug("egress proxy connection ended: %s", error)
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    self._untrack(sock)
                    sock.close()

    def _dial(self, client: socket.socket, host: str, port: str) -> socket.socket | None:
        target = f"{host}:{port}"
        try:
            if not port.isdigit():
                raise EgressRefused("The target has no valid port.")
            addresses = self.policy.resolve(host, int(port))
        except EgressRefused as refusal:
            self.on_refused(target, str(refusal))
            _reply(client, 403, str(refusal))
            return None
        for address in addresses:
            try:
                upstream = socket.create_connection((str(address), int(port)), CONNECT_TIMEOUT)
            except OSError:
                continue
            self._track(upstream)
            return upstream
        _reply(client, 502, f"{target} did not answer.")
        return None

    def _track(self, sock: socket.socket) -> None:
        with self._mutex:
            self._open.add(sock)

    def _untrack(self, sock: socket.socket) -> None:
        with self._mutex:
            self._open.discard(sock)


def _read_head(sock: socket.socket) -> tuple[bytes | None, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_HEADER_BYTES:
            _reply(sock, 431, "The request head is too large.")
            return None, b""
        chunk = sock.recv(8192)
        if not chunk:
            return None, b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _parse(head: bytes) -> tuple[bytes, bytes, bytes, list[bytes]]:
    request_line, *headers = head.split(b"\r\n")
    method, target, version = request_line.split(b" ", 2)
    if not version.startswith(b"HTTP/1."):
        raise ValueError("not HTTP/1.x")
    return method.upper(), target, version, headers


def _header_name(line: bytes) -> bytes:
    return line.split(b":", 1)[0].strip().lower()


def _reply(sock: socket.socket, status: int, message: str) -> None:
    reasons = {400: "Bad Request", 403: "Forbidden", 431: "Too Large", 502: "Bad Gateway"}
    body = (message + "\n").encode()
    head = (
        f"HTTP/1.1 {status} {reasons[status]}\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    with suppress(OSError):
        sock.sendall(head.encode() + body)


def _relay(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until both sides have finished (or nothing moves for a while)."""
    a.setblocking(False)
    b.setblocking(False)
    peers = {a: b, b: a}
    open_reads = {a, b}
    with selectors.DefaultSelector() as selector:
        for sock in open_reads:
            selector.register(sock, selectors.EVENT_READ)
        while open_reads:
            ready = selector.select(IDLE_TIMEOUT)
            if not ready:
                return
            for key, _ in ready:
                source = cast(socket.socket, key.fileobj)  # only sockets are registered above
                try:
                    data = source.recv(65536)
                except BlockingIOError:
                    continue
                if data:
                    peers[source].setblocking(True)
                    peers[source].sendall(data)
                    peers[source].setblocking(False)
                else:
                    selector.unregister(source)
                    open_reads.discard(source)
                    with suppress(OSError):
                        peers[source].shutdown(socket.SHUT_WR)
