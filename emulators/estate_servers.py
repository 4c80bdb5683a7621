"""Run the emulators with the sandbox estate, for development and the demo.

    python -m emulators [--port 4566] [--drift-seconds 300]

AWS answers on PORT, Azure on PORT+1, GCP on PORT+2, and the control endpoint on PORT+3:
`GET /sandbox.json` tells the app how to reach each emulator and with which credentials (they
are made fresh at every start and exist only in memory). `POST /faults` with
`{"rate": 0.2, "kinds": ["429", "500", "slow", "drop"], "slow_seconds": 5, "seed": 1}` makes
that share of the calls to every provider fail or stall (see emulators.base.Faults; token
endpoints excepted); `{"rate": 0}` stops it. `GET /faults` tells how many were injected.

AWS's port is a Cost Explorer proxy (`emulators.aws_costs`): it answers GetCostAndUsage from the
estate's daily costs and forwards every other request to moto, which listens on a free port.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading

from emulators import estate
from emulators.aws import AwsEmulator
from emulators.aws_costs import CostExplorerProxy
from emulators.azure import AzureFake
from emulators.base import FAULT_KINDS, FakeServer, Request, Response
from emulators.gcp import GcpFake

logger = logging.getLogger("emulators")


class Sandbox:
    def __init__(self, port: int = 0, seed: int = 2026) -> None:
        ports = (port, port + 1, port + 2, port + 3) if port else (0, 0, 0, 0)
        self.aws = AwsEmulator()  # on a free port, behind the Cost Explorer proxy
        self.aws_costs = CostExplorerProxy(port=ports[0])
        self.azure = AzureFake(port=ports[1])
        self.gcp = GcpFake(port=ports[2])
        self.control = FakeServer(port=ports[3], name="sandbox-control")
        self.seed = seed
        self.credentials = estate.SandboxCredentials()
        self._stop = threading.Event()
        self._lock = threading.Lock()

        @self.control.route("GET", r"/sandbox\.json", faults=False)
        def describe(request: Request) -> Response:
            return Response.json(dataclasses.asdict(self.credentials))

        @self.control.route("POST", r"/faults", faults=False)
        def set_faults(request: Request) -> Response:
            try:
                body = request.json() or {}
                rate = float(body.get("rate", 0))
                kinds = tuple(body.get("kinds") or FAULT_KINDS)
                slow = float(body.get("slow_seconds", 3.0))
                seed = int(body.get("seed", 0))
                if not 0 <= rate <= 1 or not set(kinds) <= set(FAULT_KINDS):
                    raise ValueError(f"rate within 0..1 and kinds among {FAULT_KINDS}")
            except (ValueError, TypeError, AttributeError) as error:
                return Response.json({"error": str(error)}, 400)
            for n, server in enumerate(self.faulty):
                server.faults.set(rate=rate, kinds=kinds, seed=seed + n, slow_seconds=slow)
            return Response.json(self.fault_counts())

        @self.control.route("GET", r"/faults", faults=False)
        def get_faults(request: Request) -> Response:
            return Response.json(self.fault_counts())

    @property
    def faulty(self) -> list[FakeServer]:
        """The servers the app's provider calls go to (AWS through the Cost Explorer proxy)."""
        return [self.aws_costs, self.azure, self.gcp]

    def fault_counts(self) -> dict[str, float]:
        return {server.name: server.faults.injected for server in self.faulty} | {
            "rate": self.azure.faults.rate
        }

    @property
    def url(self) -> str:
        return self.control.url

    def start(self) -> Sandbox:
        self.aws.start()
        self.aws_costs.target = self.aws.url
        self.aws_costs.start()
        # From now on everyone reaches moto through the proxy: the estate, drift, the app.
        self.aws.url = self.aws_costs.url
        self.azure.start()
        self.gcp.start()
        self.credentials = estate.build(
            self.aws, self.azure, self.gcp, seed=self.seed, aws_costs=self.aws_costs
        )
        self.control.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for server in (self.control, self.gcp, self.azure, self.aws_costs, self.aws):
            server.stop()

    def drift_forever(self, seconds: float) -> None:
        """Change the estate a little every `seconds` until stopped."""
        rng = random.Random(self.seed + 1)
        while not self._stop.wait(seconds):
            with self._lock:
                try:
                    logger.info("drift: %s", estate.drift(self.aws, self.azure, self.gcp, rng))
                except Exception:  # a failed drift must not stop the emulators
                    logger.exception("drift failed")

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
