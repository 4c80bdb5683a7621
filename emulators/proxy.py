"""A forwarding proxy that can make any emulator slow or unreliable (moto has no faults of
its own). Headers go through untouched, so AWS signatures still verify."""

from __future__ import annotations

from collections.abc import Callable

import requests

from emulators.base import FakeServer, Request, Response

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
}


class ForwardingProxy(FakeServer):
    def __init__(self, target: str, *, tls: bool = False) -> None:
        super().__init__(tls=tls, name="proxy")
        self.target = target.rstrip("/")
        self._session = requests.Session()

        @self.route("(GET|POST|PUT|PATCH|DELETE)", r"/.*")
        def forward(request: Request) -> Response:
            query = f"?{request.raw_query}" if request.raw_query else ""
            url = f"{self.target}{request.path}{query}"
            answer = self._session.request(
                request.method, url, data=request.body, headers=request.headers, timeout=60
            )
            headers = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
            return Response(answer.status_code, answer.content, headers)

    # Answer these requests with an error instead of forwarding them, e.g. to fail one AWS
    # region: `proxy.fail_when = lambda r: "/eu-west-1/" in r.headers["authorization"]`.
    fail_when: Callable[[Request], bool] | None = None

    def error(self, status: int, code: str, message: str) -> Response:
        """AWS's XML error body (EC2 and query services read it; S3 reads the status)."""
        body = (
            f"<?xml version='1.0' encoding='UTF-8'?><Response><Errors><Error><Code>{code}</Code>"
            f"<Message>{message}</Message></Error></Errors><RequestID>proxy</RequestID></Response>"
        )
        return Response(status, body.encode(), {"Content-Type": "text/xml"})

    def dispatch(self, request: Request) -> tuple[Response, bool]:
        # One catch-all route for every method.
        if self.fail_when is not None and self.fail_when(request):
            return self.error(403, "AccessDenied", "Denied by the test proxy"), False
        return self._routes[0][2](request), True
