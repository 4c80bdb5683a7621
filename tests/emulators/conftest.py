"""One running fake per test module: the Azure Resource Manager's or Google's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulators.azure import AzureFake
from emulators.gcp import GcpFake


@pytest.fixture(scope="module")
def azure_server() -> Iterator[AzureFake]:
    with AzureFake() as fake:
        yield fake


@pytest.fixture(scope="module")
def gcp_server() -> Iterator[GcpFake]:
    fake = GcpFake().start()
    yield fake
    fake.stop()
