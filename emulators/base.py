"""A small threaded HTTP(S) server with a route table and injectable faults.

    server = FakeServer(tls=True)

    @server.route("GET", r"/subscriptions/(?P<sub>[^/]+)")
    def get_subscription(request: Request) -> Response:
        return Response.json({"subscriptionId": request.params["sub"]})

    server.start(); ...; server.stop()

Faults make the server misbehave like a real cloud API: HTTP 429 with Retry-After, HTTP 500,
slow answers, and connections dropped without an answer. They apply to every route except
those registered with `faults=False` (token endpoints of tests that want clean log-ins can opt
out that way).
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from emulators.tls import self_signed_certificate

FAULT_KINDS = ("429", "500", "slow", "drop")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    raw_query: str = ""

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}

    @property
    def bearer_token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(
            status,
            json.dumps(data).encode(),
            {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        )


Handler = Callable[[Request], Response]


@dataclass
class Faults:
    """What goes wrong, and how often. Thread-safe; seeded for repeatable tests."""

    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    slow_seconds: float = 3.0
    retry_after: int = 1
    latency: float = 0.0
    _queued: list[str] = field(default_factory=list)
    _random: random.Random = field(default_factory=lambda: random.Random(0))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    injected: int = 0

    def set(
        self,
        *,
        rate: float = 0.0,
        kinds: tuple[str, ...] = FAULT_KINDS,
        seed: int = 0,
        slow_seconds: float | None = None,
        latency: float = 0.0,
    ) -> None:
        with self._lock:
            self.rate, self.kinds, self.latency = rate, kinds, latency
            self._random = random.Random(seed)
            if slow_seconds is not None:
                self.slow_seconds = slow_seconds

    def fail_next(self, kind: str, count: int = 1) -> None:
        assert kind in FAULT_KINDS, kind
        with self._lock:
            self._queued.extend([kind] * count)

    def clear(self) -> None:
        with self._lock:
            self.rate, self.latency, self.injected = 0.0, 0.0, 0
            self._queued.clear()

    def draw(self) -> str | None:
        with self._lock:
            if self._queued:
                kind = self._queued.pop(0)
            elif self.rate and self._random.random() < self.rate:
                kind = self._random.choice(self.kinds)
            else:
                return None
            self.injected += 1
            return kind


class FakeServer:
    """A fake cloud endpoint on 127.0.0.1 (a free port unless one is given)."""

    def __init__(self, *, tls: bool = False, port: int = 0, name: str = "fake") -> None:
        self.tls = tls
        self.name = name
        self.faults = Faults()
        self._routes: list[tuple[str, re.Pattern[str], Handler, bool]] = []
        self._port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request seen
        # When each of them came (time.time(), the same index as `requests`): rate limits
        # are proved with it.
        self.request_times: list[float] = []
        self.log_lock = threading.Lock()
        self.handler_errors: list[Exception] = []  # exceptions raised by route handlers

    # --- routing ---------------------------------------------------------------------
    def route(
        self, method: str, pattern: str, *, faults: bool = True
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._routes.append((method, re.compile(f"^{pattern}$"), handler, faults))
            return handler

        return register

    def calls(self, method: str, path: str) -> int:
        """How many `method` requests whose path matches the regular expression `path` (the
        whole path) this server received, answered or faulted: tests prove with it that an
        action was sent once, or not at all."""
        pattern = re.compile(f"^{path}$")
        return sum(1 for m, p in list(self.requests) if m == method and pattern.match(p))

    def call_times(self, method: str, path: str) -> list[float]:
        """When (time.time()) each `method` request whose path matches `path` came."""
        pattern = re.compile(f"^{path}$")
        seen = list(zip(self.requests, self.request_times, strict=False))
        return [t for (m, p), t in seen if m == method and pattern.match(p)]

    def dispatch(self, request: Request) -> tuple[Response, bool]:
        """The response, and whether faults may apply to this route."""
        path_matched = False
        for method, pattern, handler, faults in self._routes:
            match = pattern.match(request.path)
            if not match:
                continue
            path_matched = True
            if method != request.method:
                continue
            request.params = match.groupdict()
            return handler(request), faults
        if path_matched:
            return self.error(405, "MethodNotAllowed", f"{request.method} is not allowed"), True
        return self.error(404, "NotFound", f"No route for {request.path}"), True

    def error(self, status: int, code: str, message: str) -> Response:
        """The provider's error body; subclasses speak their provider's format."""
        return Response.json({"error": {"code": code, "message": message}}, status)

    # --- lifecycle -------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._httpd is not None, "start() the server first"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def ca_bundle(self) -> str | None:
        """The certificate clients must trust (None for plain HTTP)."""
        return str(self_signed_certificate()[0]) if self.tls else None

    def start(self) -> FakeServer:
        server = self

        class _Handler(_RequestHandler):
            fake = server

        httpd = ThreadingHTTPServer(("127.0.0.1", self._port), _Handler)
        httpd.daemon_threads = True
        if self.tls:
            cert, key = self_signed_certificate()
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _RequestHandler(BaseHTTPRequestHandler):
    fake: FakeServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read `fake.requests` instead

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            raw_query=parts.query,
        )
        with self.fake.log_lock:  # the two lists stay in step across handler threads
            self.fake.requests.append((request.method, request.path))
            self.fake.request_times.append(time.time())
        try:
            response, faults_apply = self.fake.dispatch(request)
        except Exception as exc:  # noqa: BLE001 - a bug in a fake answers 500, visibly
            self.fake.handler_errors.append(exc)
            response, faults_apply = self.fake.error(500, "EmulatorBug", repr(exc)), False
        if faults_apply:
            if self.fake.faults.latency:
                time.sleep(self.fake.faults.latency)
            kind = self.fake.faults.draw()
            if kind == "drop":
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            if kind == "slow":
                time.sleep(self.fake.faults.slow_seconds)
            elif kind == "429":
                response = self.fake.error(
                    429, "TooManyRequests", "Rate limit exceeded; retry later."
                )
                response.headers["Retry-After"] = str(self.fake.faults.retry_after)
            elif kind == "500":
                response = self.fake.error(
                    500, "InternalServerError", "An internal error occurred."
                )
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle
