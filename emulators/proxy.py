"""A forwarding proxy that can make any emulator slow or unreliable (moto has no faults of
its own). Headers go through untouched, so AWS signatures still verify.

In front of moto it can also disable AWS regions, which moto cannot: a disabled region is
listed by DescribeRegions as an opt-in region not opted into (as EC2 reports one whose opt-in
was removed), and requests signed for it are refused with AuthFailure, as AWS refuses them."""

from __future__ import annotations

import re
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
        self.disabled_regions: set[str] = set()

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
        if self.disabled_regions:
            scope = _SIGNED_REGION.search(request.headers.get("authorization", ""))
            if scope and scope.group(1) in self.disabled_regions:
                message = "AWS was not able to validate the provided access credentials"
                return self.error(401, "AuthFailure", message), False
        response = self._routes[0][2](request)
        if self.disabled_regions and b"Action=DescribeRegions" in request.body:
            response.body = _REGION_ITEM.sub(self._opted_out, response.body)
        return response, True

    def _opted_out(self, item: re.Match[bytes]) -> bytes:
        text = item.group(0)
        name = re.search(rb"<regionName>([^<]+)</regionName>", text)
        if name is None or name.group(1).decode() not in self.disabled_regions:
            return text
        return re.sub(rb"<optInStatus>[^<]*</optInStatus>",
                      b"<optInStatus>not-opted-in</optInStatus>", text)  # fmt: skip


_SIGNED_REGION = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")
_REGION_ITEM = re.compile(rb"<item>(?:(?!</item>).)*?<regionName>.*?</item>", re.DOTALL)
