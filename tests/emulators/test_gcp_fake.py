"""The GCP fake, driven only through the real Google SDK clients, as the app will drive it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.api_core import exceptions as api
from google.api_core.retry import Retry, if_exception_type
from google.auth.exceptions import RefreshError
from google.cloud import compute_v1, storage
from google.oauth2 import service_account

from emulators.gcp import GcpFake

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
RETRY = Retry(
    predicate=if_exception_type(
        api.TooManyRequests, api.InternalServerError, api.ServiceUnavailable
    ),
    initial=0.01,
    maximum=0.05,
    timeout=10,
)


@pytest.fixture
def fake(gcp_server: GcpFake) -> GcpFake:
    gcp_server.reset()
    return gcp_server


def credentials(key: dict[str, Any]) -> service_account.Credentials:
    return service_account.Credentials.from_service_account_info(key, scopes=SCOPES)


def compute(client: type, fake: GcpFake, key: dict[str, Any]) -> Any:
    opts = {"api_endpoint": fake.url}
    return client(credentials=credentials(key), client_options=opts, transport="rest")


def gcs(fake: GcpFake, key: dict[str, Any], project: str) -> storage.Client:
    opts = {"api_endpoint": fake.url}
    return storage.Client(project=project, credentials=credentials(key), client_options=opts)


def test_good_key_reads_project_with_self_signed_jwt_and_token_grant(fake: GcpFake) -> None:
    fake.add_project("acme-prod", name="Acme Prod", number=123456789012)
    key = fake.add_service_account("acme-prod")
    assert key["type"] == "service_account"
    assert key["token_uri"] == f"{fake.url}/token"

    project = compute(compute_v1.ProjectsClient, fake, key).get(project="acme-prod")
    assert (project.name, project.id) == ("Acme Prod", 123456789012)
    assert project.self_link.endswith("/compute/v1/projects/acme-prod")
    # GAPIC clients send a self-signed JWT: compute never calls the token endpoint...
    assert ("POST", "/token") not in fake.requests

    fake.add_bucket("acme-prod", name="acme-logs")
    assert [b.name for b in gcs(fake, key, "acme-prod").list_buckets()] == ["acme-logs"]
    # ...while google-cloud-storage refreshes through /token and calls /storage/v1/b.
    assert ("POST", "/token") in fake.requests
    assert ("GET", "/storage/v1/b") in fake.requests


def test_revoked_key_fails_on_both_auth_paths(fake: GcpFake) -> None:
    key = fake.add_service_account("acme-prod")
    fake.add_bucket("acme-prod", name="acme-logs")
    fake.revoke_key(key["client_email"])

    with pytest.raises(api.Unauthorized, match="invalid authentication credentials"):
        compute(compute_v1.ProjectsClient, fake, key).get(project="acme-prod")
    with pytest.raises(RefreshError, match="Invalid JWT Signature"):
        list(gcs(fake, key, "acme-prod").list_buckets())


def test_wrong_or_unknown_key_fails(fake: GcpFake) -> None:
    key = fake.add_service_account("acme-prod")
    other = fake.add_service_account("acme-dev")
    forged = {**key, "private_key": other["private_key"]}
    with pytest.raises(api.Unauthorized):
        compute(compute_v1.ProjectsClient, fake, forged).get(project="acme-prod")
    with pytest.raises(RefreshError, match="Invalid JWT Signature"):
        list(gcs(fake, forged, "acme-prod").list_buckets())

    stranger = {**key, "client_email": "nobody@acme-prod.iam.gserviceaccount.com"}
    with pytest.raises(RefreshError, match="account not found"):
        list(gcs(fake, stranger, "acme-prod").list_buckets())


def test_no_access_is_forbidden_and_unknown_project_not_found(fake: GcpFake) -> None:
    key = fake.add_service_account("acme-prod")
    fake.add_project("secret-project")
    instances = compute(compute_v1.InstancesClient, fake, key)
    with pytest.raises(api.Forbidden, match=r"Required 'compute\.instances\.list' permission"):
        list(instances.aggregated_list(project="secret-project"))
    with pytest.raises(api.Forbidden, match=r"storage\.buckets\.list"):
        list(gcs(fake, key, "secret-project").list_buckets())
    with pytest.raises(api.NotFound, match="projects/no-such-project"):
        compute(compute_v1.ProjectsClient, fake, key).get(project="no-such-project")

    shared = fake.add_service_account("acme-prod", projects=["acme-prod", "secret-project"])
    assert compute(compute_v1.ProjectsClient, fake, shared).get(project="secret-project").id


def test_aggregated_instances_page_across_zones(fake: GcpFake) -> None:
    key = fake.add_service_account("acme-prod")
    zones = ("us-central1-a", "us-east1-b", "europe-west1-d")
    for i in range(1200):
        fake.add_instance(
            "acme-prod",
            zone=zones[i % 3],
            name=f"vm-{i:04d}",
            labels={"team": "web"},
            external_ip=f"34.0.{i // 256}.{i % 256}",
            created="2024-05-01T12:00:00-07:00",
        )
    fake.set_instance_status("acme-prod", "vm-0007", "STOPPED")
    fake.page_size = 500
    client = compute(compute_v1.InstancesClient, fake, key)
    request = compute_v1.AggregatedListInstancesRequest(project="acme-prod", max_results=1000)
    with pytest.raises(api.BadRequest, match="less than or equal to 500"):  # as the real API
        client.aggregated_list(request=request)
    request.max_results = 500
    pager = client.aggregated_list(request=request)

    found: dict[str, compute_v1.Instance] = {}
    pages = 0
    for page in pager.pages:
        pages += 1
        assert sum(len(s.instances) for s in page.items.values()) <= 500
        for scope, scoped in page.items.items():
            if scoped.instances:
                found |= {i.name: i for i in scoped.instances}
            else:
                assert scoped.warning.code == "NO_RESULTS_ON_PAGE", scope
        assert page.items["zones/asia-east1-a"].warning.code == "NO_RESULTS_ON_PAGE"
    assert pages == 3
    assert len(found) == 1200

    vm = found["vm-0007"]
    assert vm.status == "STOPPED"
    assert vm.zone.endswith("/projects/acme-prod/zones/us-east1-b")
    assert vm.machine_type.endswith("/zones/us-east1-b/machineTypes/e2-medium")
    assert vm.self_link.startswith("https://www.googleapis.com/compute/v1/projects/acme-prod/")
    assert vm.labels == {"team": "web"}
    assert vm.creation_timestamp == "2024-05-01T12:00:00.000-07:00"
    assert vm.id > 0
    nic = vm.network_interfaces[0]
    assert nic.network.endswith("/global/networks/default")
    assert nic.access_configs[0].nat_i_p == "34.0.0.7"
    assert nic.access_configs[0].type_ == "ONE_TO_ONE_NAT"
    assert nic.network_i_p.startswith("10.128.")
    assert vm.disks[0].boot
    assert vm.disks[0].source.endswith("/zones/us-east1-b/disks/vm-0007")

    zonal = compute(compute_v1.InstancesClient, fake, key).list(
        project="acme-prod", zone="europe-west1-d"
    )
    assert len(list(zonal)) == 400


def test_a_stopped_instance_says_when_it_stopped_as_compute_does(fake: GcpFake) -> None:
    """lastStopTimestamp: given, else its creation for one made stopped; a status change
    stamps the stop (or the start) as of now, or as of `when`."""
    key = fake.add_service_account("acme-prod")
    made = "2026-01-01T00:00:00.000+00:00"
    fake.add_instance("acme-prod", name="old", status="TERMINATED", created=made,
                      stopped="2026-02-01T00:00:00Z")  # fmt: skip
    fake.add_instance("acme-prod", name="born-stopped", status="TERMINATED", created=made)
    fake.add_instance("acme-prod", name="up", created=made)
    fake.add_instance("acme-prod", name="dated", created=made)
    fake.set_instance_status("acme-prod", "up", "TERMINATED")
    fake.set_instance_status("acme-prod", "dated", "TERMINATED", when="2026-03-01T00:00:00Z")
    client = compute(compute_v1.InstancesClient, fake, key)
    got = {
        i.name: (i.status, i.last_stop_timestamp)
        for i in client.list(project="acme-prod", zone="us-central1-a")
    }
    assert got["old"] == ("TERMINATED", "2026-02-01T00:00:00.000+00:00")
    assert got["born-stopped"] == ("TERMINATED", made)
    assert got["dated"] == ("TERMINATED", "2026-03-01T00:00:00.000+00:00")
    assert got["up"][0] == "TERMINATED"
    stamped = datetime.fromisoformat(got["up"][1])
    assert timedelta(0) <= datetime.now(UTC) - stamped < timedelta(minutes=5)  # now
    fake.set_instance_status("acme-prod", "up", "TERMINATED")  # no change: no new stop
    stopped = fake.resources("acme-prod", "instance")
    assert {i["name"]: i["lastStopTimestamp"] for i in stopped}["up"] == got["up"][1]


def test_disks_networks_and_buckets_list_with_paging(fake: GcpFake) -> None:
    key = fake.add_service_account("acme-prod")
    fake.page_size = 3
    fake.add_instance("acme-prod", name="web-1")
    for i in range(7):
        users = ["web-1"] if i == 0 else ()
        fake.add_disk("acme-prod", zone="us-central1-a", name=f"d{i}", size_gb=50, users=users)
    for i in range(5):
        fake.add_network("acme-prod", name=f"net-{i}", auto_create_subnetworks=i % 2 == 0)
    for i in range(8):
        fake.add_bucket("acme-prod", name=f"acme-b{i}", location="EU", labels={"i": str(i)})
    fake.add_bucket("acme-dev", name="not-mine")

    pager = compute(compute_v1.DisksClient, fake, key).aggregated_list(project="acme-prod")
    disks = [d for _, scoped in pager for d in scoped.disks]
    assert len(disks) == 7
    assert disks[0].size_gb == 50
    assert disks[0].type_.endswith("/diskTypes/pd-balanced")
    assert disks[0].users[0].endswith("/zones/us-central1-a/instances/web-1")
    assert disks[0].status == "READY"

    networks = list(compute(compute_v1.NetworksClient, fake, key).list(project="acme-prod"))
    assert [n.name for n in networks] == [f"net-{i}" for i in range(5)]
    assert networks[0].auto_create_subnetworks
    assert networks[0].subnetworks
    assert not networks[1].subnetworks
    assert networks[0].routing_config.routing_mode == "REGIONAL"

    buckets = list(gcs(fake, key, "acme-prod").list_buckets(page_size=5))
    assert [b.name for b in buckets] == [f"acme-b{i}" for i in range(8)]
    assert (buckets[3].location, buckets[3].location_type) == ("EU", "multi-region")
    assert buckets[3].labels == {"i": "3"}
    assert buckets[3].storage_class == "STANDARD"
    assert buckets[3].time_created is not None
    list_calls = [r for r in fake.requests if r == ("GET", "/storage/v1/b")]
    assert len(list_calls) == 3  # 8 buckets, 3 a page
    calls = [r for r in fake.requests if r[1].endswith("/aggregated/disks")]
    assert len(calls) == 3  # 7 disks, 3 a page


def test_injected_429_and_500_are_retried(fake: GcpFake) -> None:
    key = fake.add_service_account("acme-prod")
    fake.page_size = 2
    for i in range(5):
        fake.add_instance("acme-prod", zone="us-east1-b", name=f"vm-{i}")
        fake.add_bucket("acme-prod", name=f"bucket-{i}")
    instances = compute(compute_v1.InstancesClient, fake, key)

    fake.faults.fail_next("429")
    with pytest.raises(api.TooManyRequests):
        list(instances.aggregated_list(project="acme-prod"))

    fake.faults.fail_next("429")
    fake.faults.fail_next("500")
    pager = instances.aggregated_list(project="acme-prod", retry=RETRY)
    assert len([i for _, scoped in pager for i in scoped.instances]) == 5

    fake.faults.fail_next("500")
    fake.faults.fail_next("429")
    buckets = gcs(fake, key, "acme-prod").list_buckets(retry=RETRY)
    assert len(list(buckets)) == 5
    assert fake.faults.injected == 5


ACTED = "acme-ops"


def test_instance_actions_are_zone_operations(fake: GcpFake) -> None:
    key = fake.add_service_account(ACTED)
    fake.add_instance(ACTED, name="web-1")
    instances = compute(compute_v1.InstancesClient, fake, key)
    operations = compute(compute_v1.ZoneOperationsClient, fake, key)
    where = {"project": ACTED, "zone": "us-central1-a"}

    op = instances.stop_unary(**where, instance="web-1")
    assert (op.status, op.operation_type) == (compute_v1.Operation.Status.RUNNING, "stop")
    assert fake.resources(ACTED, "instance")[0]["status"] == "STOPPING"
    got = operations.get(**where, operation=op.name)
    assert got.status == compute_v1.Operation.Status.RUNNING
    waited = operations.wait(**where, operation=op.name)
    assert (waited.status, waited.progress) == (compute_v1.Operation.Status.DONE, 100)
    assert fake.resources(ACTED, "instance")[0]["status"] == "TERMINATED"

    with pytest.raises(api.BadRequest, match="is not ready"):
        instances.reset_unary(**where, instance="web-1")
    fake.faults.fail_next("500")
    with pytest.raises(api.InternalServerError):
        instances.start_unary(**where, instance="web-1", retry=None)
    with pytest.raises(api.NotFound):
        operations.get(**where, operation="operation-0-unknown")
    start = rf"/compute/v1/projects/{ACTED}/zones/[^/]+/instances/web-1/start"
    assert fake.calls("POST", start) == 1
