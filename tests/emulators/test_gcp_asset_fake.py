"""The GCP fake's Cloud Asset Inventory, driven through google-cloud-asset's REST transport
(as the adapter drives it) and, for the wire shapes, plain HTTP."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from google.api_core import exceptions as api
from google.api_core.retry import Retry, if_exception_type
from google.auth.transport.requests import Request as AuthRequest
from google.cloud import asset_v1
from google.oauth2 import service_account

from emulators.gcp import GcpFake

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
PROJECT = "acme-prod"
RETRY = Retry(
    predicate=if_exception_type(api.TooManyRequests, api.InternalServerError),
    initial=0.01,
    maximum=0.05,
    timeout=10,
)


@pytest.fixture
def fake(gcp_server: GcpFake) -> GcpFake:
    gcp_server.reset()
    gcp_server.faults.retry_after = 0
    return gcp_server


@pytest.fixture
def key(fake: GcpFake) -> dict[str, Any]:
    fake.add_project(PROJECT, number=123456789012)
    return fake.add_service_account(PROJECT)


def client(fake: GcpFake, key: dict[str, Any]) -> asset_v1.AssetServiceClient:
    credentials = service_account.Credentials.from_service_account_info(key, scopes=SCOPES)
    return asset_v1.AssetServiceClient(
        credentials=credentials, transport="rest", client_options={"api_endpoint": fake.url}
    )


def listed(fake: GcpFake, key: dict[str, Any], *types: str, **request: Any) -> list[Any]:
    request = {"parent": f"projects/{PROJECT}", "asset_types": list(types), **request}
    pager = client(fake, key).list_assets(
        request=asset_v1.ListAssetsRequest(**request), retry=RETRY
    )
    return list(pager)


def get(fake: GcpFake, key: dict[str, Any], query: str) -> requests.Response:
    """A plain HTTP request with an access token from the token endpoint."""
    credentials = service_account.Credentials.from_service_account_info(key, scopes=SCOPES)
    credentials.refresh(AuthRequest())
    return requests.get(
        f"{fake.url}/v1/projects/{PROJECT}/assets?{query}",
        headers={"Authorization": f"Bearer {credentials.token}"},
        timeout=10,
    )


def _small_estate(fake: GcpFake) -> None:
    fake.add_network(PROJECT, name="default", auto_create_subnetworks=False)
    fake.add_subnetwork(PROJECT, name="app", region="us-central1", network="default",
                        cidr="10.0.0.0/24")  # fmt: skip
    fake.add_instance(PROJECT, name="web-1")
    fake.add_disk(PROJECT, name="web-1", users=["web-1"])
    fake.add_bucket(PROJECT, name="acme-logs")
    fake.add_topic(PROJECT, name="orders")
    fake.add_sql_instance(PROJECT, name="orders-db")


def test_it_lists_only_the_types_it_is_sent_exactly_or_as_patterns(fake, key):
    _small_estate(fake)
    assert [a.asset_type for a in listed(fake, key, "pubsub.googleapis.com/Topic")] == [
        "pubsub.googleapis.com/Topic"
    ]
    compute = listed(fake, key, "compute.googleapis.com.*", "storage.googleapis.com/Bucket")
    assert sorted(a.asset_type.rsplit("/", 1)[1] for a in compute) == [
        "Bucket", "Disk", "Instance", "Network", "Subnetwork",
    ]  # fmt: skip
    assert len(listed(fake, key)) == 7  # no types: every type
    names = [a.name for a in listed(fake, key, ".*Instance")]
    assert names == [
        f"//cloudsql.googleapis.com/projects/{PROJECT}/instances/orders-db",
        f"//compute.googleapis.com/projects/{PROJECT}/zones/us-central1-a/instances/web-1",
    ]


def test_a_type_that_names_nothing_is_an_invalid_argument(fake, key):
    with pytest.raises(api.BadRequest, match=r"Invalid asset type: compute\.googleapis\.com/Nope"):
        listed(fake, key, "compute.googleapis.com/Nope")
    with pytest.raises(api.BadRequest, match="Invalid asset type"):
        listed(fake, key, "pubsub.googleapis.com/Topic", "([")


def test_the_resource_is_the_services_own_json_only_when_asked_for(fake, key):
    disk = fake.add_disk(PROJECT, name="data", size_gb=50, labels={"team": "ops"})
    (bare,) = listed(fake, key, "compute.googleapis.com/Disk")
    assert (bare.name, bare.ancestors) == (
        f"//compute.googleapis.com/projects/{PROJECT}/zones/us-central1-a/disks/data",
        ["projects/123456789012"],
    )
    assert not bare.resource.data
    assert bare.update_time is not None
    (full,) = listed(
        fake, key, "compute.googleapis.com/Disk", content_type=asset_v1.ContentType.RESOURCE
    )
    resource = asset_v1.Asset.to_dict(full)["resource"]
    assert {k: resource[k] for k in ("version", "discovery_name", "parent", "location")} == {
        "version": "v1",
        "discovery_name": "Disk",
        "parent": "//cloudresourcemanager.googleapis.com/projects/123456789012",
        "location": "us-central1-a",
    }
    assert resource["data"]["selfLink"] == disk["selfLink"]
    assert resource["data"]["labels"] == {"team": "ops"}
    assert resource["data"]["sizeGb"] == "50"  # int64 stays a string, as Compute sends it
    assert listed(fake, key, "compute.googleapis.com/Disk", content_type=2) == []  # IAM_POLICY


def test_it_pages_with_next_page_token(fake, key):
    for n in range(23):
        fake.add_topic(PROJECT, name=f"topic-{n:02}")
    pager = client(fake, key).list_assets(
        request=asset_v1.ListAssetsRequest(
            parent=f"projects/{PROJECT}", asset_types=["pubsub.googleapis.com/Topic"],
            page_size=10,
        )
    )  # fmt: skip
    pages = [[a.name.rsplit("/", 1)[1] for a in page.assets] for page in pager.pages]
    assert [len(p) for p in pages] == [10, 10, 3]
    assert [name for page in pages for name in page] == [f"topic-{n:02}" for n in range(23)]
    assert len(listed(fake, key, "pubsub.googleapis.com/Topic")) == 23  # default 100 a page
    fake.page_size = 5
    assert len(listed(fake, key, "pubsub.googleapis.com/Topic", page_size=1000)) == 23


def test_the_wire_shape_and_page_tokens(fake, key):
    for n in range(3):
        fake.add_topic(PROJECT, name=f"topic-{n}")
    first = get(fake, key, "assetTypes=pubsub.googleapis.com/Topic&pageSize=2&contentType=1")
    body = first.json()
    assert first.status_code == 200
    assert set(body) == {"assets", "readTime", "nextPageToken"}
    assert body["readTime"].endswith("Z")
    assert body["assets"][0]["resource"]["data"] == {
        "name": f"projects/{PROJECT}/topics/topic-0",
        "messageRetentionDuration": "604800s",
        "state": "ACTIVE",
    }
    token = body["nextPageToken"]
    second = get(fake, key, f"assetTypes=pubsub.googleapis.com/Topic&pageSize=2&"
                            f"contentType=RESOURCE&pageToken={token}").json()  # fmt: skip
    assert [a["name"].rsplit("/", 1)[1] for a in second["assets"]] == ["topic-2"]
    assert "nextPageToken" not in second
    # A token continues only the request it came from.
    other = get(fake, key, f"assetTypes=dns.googleapis.com/ManagedZone&pageToken={token}")
    assert (other.status_code, other.json()["error"]["status"]) == (400, "INVALID_ARGUMENT")
    assert get(fake, key, "pageToken=garbage").status_code == 400
    assert get(fake, key, "pageSize=1001").status_code == 400
    assert get(fake, key, "contentType=SOMETHING").status_code == 400


def test_a_project_is_named_by_id_or_number_and_needs_permission(fake, key):
    fake.add_topic(PROJECT, name="orders")
    fake.add_project("acme-secret")
    fake.add_topic("acme-secret", name="secrets")
    by_number = listed(fake, key, "pubsub.googleapis.com/Topic", parent="projects/123456789012")
    assert [a.name for a in by_number] == [
        f"//pubsub.googleapis.com/projects/{PROJECT}/topics/orders"
    ]
    for parent in ("projects/acme-secret", "projects/no-such-project"):
        with pytest.raises(api.Forbidden, match=r"cloudasset\.assets\.listResource"):
            listed(fake, key, parent=parent)
    fake.revoke_key(key["client_email"])
    with pytest.raises(api.Unauthorized):
        listed(fake, key)


def test_faults_are_injected_as_on_every_route(fake, key):
    fake.add_topic(PROJECT, name="orders")
    fake.faults.fail_next("429")
    fake.faults.fail_next("500")
    assert len(listed(fake, key, "pubsub.googleapis.com/Topic")) == 1
    assert fake.faults.injected == 2
    fake.faults.fail_next("500")
    with pytest.raises(api.InternalServerError):
        client(fake, key).list_assets(request={"parent": f"projects/{PROJECT}"}, retry=None)
