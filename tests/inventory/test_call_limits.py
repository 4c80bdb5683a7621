"""Every call to a provider takes a token of a bucket shared by every worker and host, per
provider and rate-limit domain, and throttling answers are waited out without failing a sync.

The real sync code and SDKs against the emulators (moto behind our proxy, the Azure and GCP
fakes), whose fault injection answers HTTP 429; CLOUD_RETRIES=0, so that the SDKs' own
retries cannot be what saves a sync. The buckets are in the database here: a sync's listing
threads take tokens on connections of their own, so these tests commit (transactional
database); the bucket shared by two throttles is also tested in Redis."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured

from emulators.proxy import ForwardingProxy
from inventory.account_adapters import adapter_for
from inventory.cloud_limits import MAX_BATCH, CallThrottle, bucket_key, calls_limit
from inventory.models import RateBucket, Resource, SyncRun
from inventory.rate_limit import Clock, Limit
from inventory.services.sync import cloud_account_sync
from mcloud.clouds.aws.session import s3_bucket
from mcloud.clouds.base import CloudError
from mcloud.clouds.registry import provider_get
from mcloud.clouds.throttling import azure_domain, gcp_domain
from tests.inventory import aws_estate
from tests.inventory.factories import aws_account, azure_account, gcp_account

REDIS = "redis://127.0.0.1:6379/15"
BURST = 100_000  # no call waits for its token; the buckets count what was taken
PACED = f"aws=1e-05/{BURST},azure=1e-05/{BURST},gcp=1e-05/{BURST}"
TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"
SUBS = ["aaaaaaaa-0000-0000-0000-000000000001", "aaaaaaaa-0000-0000-0000-000000000002"]


class StillClock(Clock):
    """Time that stands still; each wait asked for is recorded instead of slept."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.lock = threading.Lock()

    def now(self) -> float:
        return 1_800_000_000.0

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.waits.append(seconds)


@pytest.fixture
def paced(settings):
    """The limiter on, with buckets too big to wait for, and no SDK retries."""
    settings.CLOUD_RATE_LIMITS = PACED
    settings.CLOUD_RETRIES = 0
    settings.REDIS_URL = ""


def _taken(provider: str) -> tuple[float, int]:
    """(tokens taken from the provider's buckets, how many buckets)."""
    buckets = RateBucket.objects.filter(key__startswith=f"calls:{provider}:")
    return sum(BURST - b.tokens for b in buckets), buckets.count()


def _assert_every_request_took_a_token(provider: str, requests: int) -> None:
    """Each request sent took one token, in batches of MAX_BATCH per bucket: at most
    MAX_BATCH - 1 taken and unused in each."""
    taken, buckets = _taken(provider)
    assert requests > 0
    assert requests <= round(taken) <= requests + (MAX_BATCH - 1) * buckets


# --- limits ---------------------------------------------------------------------------------
def test_limits_come_from_the_registry_unless_set(settings):
    settings.CLOUD_RATE_LIMITS = ""
    aws = provider_get("aws")
    assert calls_limit("aws") == Limit(aws.call_rate, aws.call_burst)
    settings.CLOUD_RATE_LIMITS = "aws=3/9"
    assert calls_limit("aws") == Limit(3.0, 9)
    gcp = provider_get("gcp")
    assert calls_limit("gcp") == Limit(gcp.call_rate, gcp.call_burst)
    settings.CLOUD_RATE_LIMITS = "Off"
    assert calls_limit("aws") is None
    settings.CLOUD_RATE_LIMITS = "aws=quick"
    with pytest.raises(ImproperlyConfigured, match="CLOUD_RATE_LIMITS"):
        calls_limit("aws")


def test_a_long_domain_is_hashed_to_fit_the_column():
    key = bucket_key("gcp", "project:" + "x" * 200)
    assert len(key) <= 120
    assert key.startswith("calls:gcp:")
    assert key != bucket_key("gcp", "project:" + "y" * 200)


def test_domains_are_the_providers_own_ids():
    assert s3_bucket("https://logs.s3.eu-west-1.amazonaws.com/?tagging") == "logs"
    assert s3_bucket("http://127.0.0.1:5000/logs?location") == "logs"  # path-style
    assert s3_bucket("https://s3.amazonaws.com/") == ""  # the bucket list
    arm = "https://management.azure.com"
    sub = "AAAAAAAA-0000-0000-0000-000000000001"
    assert azure_domain(f"{arm}/subscriptions/{sub}/providers/X?api-version=1", TENANT) == (
        f"subscription:{sub.lower()}"
    )
    graph = f"{arm}/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01"
    assert azure_domain(graph, TENANT) == f"tenant:{TENANT}"
    compute = "https://compute.googleapis.com/compute/v1/projects/acme-prod/aggregated/disks"
    assert gcp_domain(compute, "acme-admin") == "project:acme-prod"
    search = "https://cloudresourcemanager.googleapis.com/v3/projects:search"
    assert gcp_domain(search, "acme-admin") == "project:acme-admin"


# --- one bucket for every worker -------------------------------------------------------------
@pytest.fixture(params=["database", "redis"])
def backend(request, settings):
    if request.param == "redis":
        import redis

        try:
            redis.Redis.from_url(REDIS).ping()
        except redis.ConnectionError:
            pytest.skip("no Redis on 127.0.0.1:6379")
        settings.REDIS_URL = REDIS
    else:
        settings.REDIS_URL = ""
    return request.param


@pytest.mark.django_db(transaction=True)
def test_two_workers_share_the_bucket_of_a_domain(backend):
    """Two throttles (two adapters, as on two workers), each on its own thread (and database
    connection), make 15 calls of one domain at the same instant: with a bucket of 5 at 10 a
    second, 5 go at once and the other 25 are spread a tenth of a second apart, whichever
    worker makes them; another domain's bucket is untouched."""
    domain = f"test-{uuid.uuid4().hex}"
    clocks = [StillClock(), StillClock()]
    throttles = [CallThrottle("aws", Limit(10.0, 5), clock) for clock in clocks]

    def worker(throttle: CallThrottle) -> None:
        for _ in range(15):
            throttle(domain)

    threads = [threading.Thread(target=worker, args=(t,)) for t in throttles]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    waits = sorted(clocks[0].waits + clocks[1].waits)
    assert waits == pytest.approx([0.1 * n for n in range(1, 26)])
    assert all(clock.waits for clock in clocks)  # both were held back
    CallThrottle("aws", Limit(10.0, 5), clocks[0])(f"{domain}-other")
    assert len(clocks[0].waits + clocks[1].waits) == 25


@pytest.mark.django_db
def test_tokens_are_taken_a_batch_at_a_time(settings):
    """One shared write per batch: 25 calls take 3 batches of 10 from a bucket of 100."""
    settings.REDIS_URL = ""
    clock, domain = StillClock(), f"test-{uuid.uuid4().hex}"
    throttle = CallThrottle("gcp", Limit(10.0, 100), clock)
    assert throttle.batch == MAX_BATCH
    for _ in range(25):
        throttle(domain)
    assert RateBucket.objects.get(key=bucket_key("gcp", domain)).tokens == pytest.approx(70.0)
    assert clock.waits == []


# --- syncs through a burst of 429s --------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_an_aws_sync_through_a_burst_of_throttling_succeeds_and_takes_a_token_per_request(
    aws, org, settings, paced
):
    ids = aws_estate.instances(aws, "eu-west-1", 3) + aws_estate.instances(aws, "us-east-1", 2)
    aws_estate.bucket(aws, "paced-bucket", "eu-west-1")
    key = aws.create_user_key("paced")
    account = aws_account(org, key, regions=["eu-west-1", "us-east-1"])
    with ForwardingProxy(aws.url) as proxy:
        proxy.faults.retry_after = 0
        proxy.faults.fail_next("429", 25)
        settings.AWS_ENDPOINT_URL = proxy.url
        run = cloud_account_sync(account=account)
        requests, injected = len(proxy.requests), proxy.faults.injected

    assert injected == 25
    assert run.status == SyncRun.State.SUCCEEDED, run.scope_errors
    live = Resource.objects.filter(account=account, type="vm", deleted_at__isnull=True)
    assert set(live.values_list("resource_id", flat=True)) == set(ids)
    assert Resource.objects.filter(account=account, name="paced-bucket").exists()
    _assert_every_request_took_a_token("aws", requests)
    # Per account (the key's, known without a call), region and service; S3 per bucket.
    keys = set(RateBucket.objects.values_list("key", flat=True))
    assert {
        f"calls:aws:{key[0]}:eu-west-1:ec2",
        f"calls:aws:{key[0]}:us-east-1:ec2",
        f"calls:aws:{key[0]}:s3",  # the bucket list
        f"calls:aws:{key[0]}:s3:paced-bucket",  # S3 limits each bucket
    } <= keys


@pytest.mark.django_db
def test_without_waiting_throttling_out_the_same_burst_fails_a_scope(aws, org, settings):
    """The control: with no patience for throttling, each 429 is left to the SDK, which has
    no retries here, and the burst above fails the listing."""
    aws_estate.instances(aws, "eu-west-1", 1)
    account = aws_account(org, aws.create_user_key("impatient"), regions=["eu-west-1"])
    settings.CLOUD_RETRIES = 0
    with ForwardingProxy(aws.url) as proxy:
        proxy.faults.retry_after = 0
        proxy.faults.fail_next("429", 25)
        settings.AWS_ENDPOINT_URL = proxy.url
        adapter = adapter_for(account, throttle_patience=0)
        with pytest.raises(CloudError, match="TooManyRequests"):
            adapter.list_scope("eu-west-1")


@pytest.mark.django_db(transaction=True)
def test_an_azure_sync_through_a_burst_of_429s_succeeds_and_takes_a_token_per_request(
    azure, org, paced, monkeypatch
):
    azure.graph_page_size = 3
    for i, sub in enumerate(SUBS):
        azure.add_subscription(sub, f"Sub {i}", TENANT)
        for n in range(5):
            azure.add_vm(sub, name=f"vm-{i}-{n}")
    azure.add_app(TENANT, CLIENT, "secret", SUBS)
    account = azure_account(org, TENANT, CLIENT, "secret", SUBS)
    monkeypatch.setattr(azure.faults, "retry_after", 0)
    azure.faults.fail_next("429", 12)
    sent_before = len(azure.requests)

    run = cloud_account_sync(account=account)

    assert azure.faults.injected == 12
    assert run.status == SyncRun.State.SUCCEEDED, run.scope_errors
    assert Resource.objects.filter(account=account, type="vm").count() == 10
    sent = azure.requests[sent_before:]
    arm = [path for _, path in sent if path.startswith(("/subscriptions", "/providers"))]
    _assert_every_request_took_a_token("azure", len(arm))
    # The subscriptions list and Resource Graph are tenant-level APIs: the sync's calls count
    # against the tenant (costs and actions, per subscription, against each subscription).
    keys = set(RateBucket.objects.values_list("key", flat=True))
    assert keys == {f"calls:azure:tenant:{TENANT}"}


@pytest.mark.django_db(transaction=True)
def test_a_gcp_sync_through_a_burst_of_429s_succeeds_and_takes_a_token_per_request(
    gcp, org, paced, monkeypatch
):
    gcp.page_size = 2
    projects = ["acme-prod", "acme-data"]
    key = gcp.add_service_account("acme-prod", projects=projects)
    for project in projects:
        for n in range(5):
            gcp.add_instance(project, zone="us-central1-a", name=f"{project}-vm-{n}")
    account = gcp_account(org, key, projects)
    monkeypatch.setattr(gcp.faults, "retry_after", 0)
    gcp.faults.fail_next("429", 12)
    sent_before = len(gcp.requests)

    run = cloud_account_sync(account=account)

    assert gcp.faults.injected == 12
    assert run.status == SyncRun.State.SUCCEEDED, run.scope_errors
    assert Resource.objects.filter(account=account, type="vm").count() == 10
    sent = [path for _, path in gcp.requests[sent_before:] if path != "/token"]
    _assert_every_request_took_a_token("gcp", len(sent))
    keys = set(RateBucket.objects.values_list("key", flat=True))
    assert {f"calls:gcp:project:{p}" for p in projects} <= keys
