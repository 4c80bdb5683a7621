"""The words the pages use about each provider, in one place keyed by provider.

Templates and views ask here (`provider_words("gcp").article`) instead of branching on the
provider; the provider registry is meant to take these entries over.
"""

from __future__ import annotations

from dataclasses import dataclass

from inventory.models import Provider


@dataclass(frozen=True)
class ProviderWords:
    label: str
    article: str  # "an AWS account", "a GCP account"
    scope: str  # what one sync scope is: "region"
    scopes: str  # its plural: "regions"
    name_hint: str  # the example in the account form's name field
    # Scopes a sync lists beside the counted ones (AWS's global S3 listing is no region).
    uncounted_scopes: tuple[str, ...] = ()
    # Whether imported costs name resources: "yes", "no" or a short condition.
    resource_costs: str = "no"


WORDS: dict[str, ProviderWords] = {
    Provider.AWS: ProviderWords(
        label="AWS",
        article="an",
        scope="region",
        scopes="regions",
        name_hint="aws-prod",
        uncounted_scopes=("global",),
        resource_costs="no",
    ),
    Provider.AZURE: ProviderWords(
        label="Azure",
        article="an",
        scope="subscription",
        scopes="subscriptions",
        name_hint="azure-prod",
        resource_costs="yes",
    ),
    Provider.GCP: ProviderWords(
        label="GCP",
        article="a",
        scope="project",
        scopes="projects",
        name_hint="gcp-prod",
        resource_costs="with the detailed billing export",
    ),
}

_UNKNOWN = ProviderWords(label="", article="a", scope="scope", scopes="scopes", name_hint="prod")


def provider_words(provider: str) -> ProviderWords:
    return WORDS.get(provider, _UNKNOWN)


def counted_scopes(provider: str, scopes: list[str]) -> list[str]:
    """The scopes progress counts in the provider's word ("3 of 3 regions")."""
    skip = provider_words(provider).uncounted_scopes
    return [scope for scope in scopes if scope not in skip]
