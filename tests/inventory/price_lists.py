"""Small local stand-ins for the providers' public price lists, answering in each one's
documented shape: the AWS Price List bulk API (region index, an offer as CSV), the Azure
Retail Prices API (`Items`, `NextPageLink`) and the GCP Cloud Billing Catalog API (`skus`,
`nextPageToken`). Each records the paths it was asked for."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Route = Callable[[str, dict[str, list[str]]], tuple[int, str, bytes]]


class PriceList:
    def __init__(self, route: Route) -> None:
        self.route = route
        self.asked: list[str] = []
        self.url = ""

    @property
    def host_port(self) -> str:
        return self.url.removeprefix("http://")


@contextmanager
def price_list(route: Route) -> Iterator[PriceList]:
    served = PriceList(route)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            served.asked.append(self.path)
            status, kind, body = served.route(parts.path, parse_qs(parts.query))
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    served.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()


def as_json(value: Any) -> tuple[int, str, bytes]:
    return 200, "application/json", json.dumps(value).encode()


# --- AWS: the EC2 offer as the bulk API's CSV (metadata lines, a header, one row a price)
AWS_CSV_HEAD = [
    '"FormatVersion","v1.0"',
    '"Disclaimer","This pricing list is for informational purposes only."',
    '"Publication Date","2026-12-01T00:00:00Z"',
    '"Version","20261201000000"',
    '"OfferCode","AmazonEC2"',
    '"SKU","OfferTermCode","RateCode","TermType","PriceDescription","EffectiveDate",'
    '"StartingRange","EndingRange","Unit","PricePerUnit","Currency","Product Family",'
    '"serviceCode","Location","Instance Type","Tenancy","Operating System",'
    '"Pre Installed S/W","CapacityStatus","Volume API Name","usageType","Region Code"',
]


def aws_row(term: str, unit: str, price: str, family: str, **attrs: str) -> str:
    cells = [
        "SKU1", "JRTCKXETXF", "R1", term, "a price", "2026-12-01", "0", "Inf", unit, price,
        "USD", family, "AmazonEC2", "US East (N. Virginia)", attrs.get("instance_type", ""),
        attrs.get("tenancy", ""), attrs.get("os", ""), attrs.get("software", ""),
        attrs.get("capacity", ""), attrs.get("volume", ""), attrs.get("usage", ""),
        attrs.get("region", ""),
    ]  # fmt: skip
    return ",".join(f'"{c}"' for c in cells)


def aws_offer(rows: list[str]) -> bytes:
    return ("\n".join([*AWS_CSV_HEAD, *rows]) + "\n").encode()
