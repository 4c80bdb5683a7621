"""Provider name -> adapter class, imported only when first used (boto3 and the Azure and
Google SDKs are slow to import)."""

from __future__ import annotations

import importlib
from typing import Any

ADAPTERS = {
    "aws": "mcloud.clouds.aws.AwsAdapter",
    "azure": "mcloud.clouds.azure.AzureAdapter",
    "gcp": "mcloud.clouds.gcp.GcpAdapter",
}


def adapter_class(provider: str) -> Any:
    module, _, name = ADAPTERS[provider].rpartition(".")
    return getattr(importlib.import_module(module), name)
