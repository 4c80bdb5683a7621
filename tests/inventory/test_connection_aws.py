"""Connection tests of AWS accounts: the real boto3 against moto's server."""

from __future__ import annotations

import time

import pytest

from emulators.base import FakeServer
from emulators.proxy import ForwardingProxy
from inventory.models import HealthStatus
from inventory.services.health import connection_check
from tests.inventory.factories import aws_account, aws_role_account

pytestmark = pytest.mark.django_db


def test_a_good_access_key_connects_and_is_healthy(aws, org):
    account = aws_account(org, aws.create_user_key("mcloud-reader"))
    check = connection_check(account=account)
    assert check.status == HealthStatus.HEALTHY
    assert check.message == "Connected as arn:aws:iam::123456789012:user/mcloud-reader"
    assert check.response_ms is not None
    account.refresh_from_db()
    assert account.latest_health == check
    assert account.consecutive_failures == 0


def test_an_unknown_access_key_is_an_error_with_aws_reason(aws, org):
    account = aws_account(org, ("AKIAUNKNOWNKEY000000", "nope"))
    check = connection_check(account=account)
    assert check.status == HealthStatus.ERROR
    assert check.message == "AWS rejected the access key (InvalidClientTokenId)"
    account.refresh_from_db()
    assert account.consecutive_failures == 1


def test_a_wrong_secret_is_an_error(aws, org):
    key_id, _ = aws.create_user_key("mcloud-reader")
    check = connection_check(account=aws_account(org, (key_id, "wrong-secret")))
    assert check.message == "AWS rejected the access key (SignatureDoesNotMatch)"


def test_a_role_is_assumed_with_the_organization_external_id(aws, org):
    from inventory.account_adapters import external_id_for

    arn = aws.create_role("mcloud-reader", external_id=external_id_for(org))
    check = connection_check(account=aws_role_account(org, arn))
    assert check.status == HealthStatus.HEALTHY, check.message
    assert check.message == (
        "Connected as arn:aws:sts::123456789012:assumed-role/mcloud-reader/mcloud"
    )


def test_a_role_that_requires_another_external_id_is_refused(aws, org):
    arn = aws.create_role("mcloud-reader", external_id="someone-elses-id")
    check = connection_check(account=aws_role_account(org, arn))
    assert check.status == HealthStatus.ERROR
    assert check.message.startswith("AWS denied the request to assume the role (AccessDenied)")


def test_a_slow_answer_is_degraded(aws, org, settings):
    settings.HEALTH_DEGRADED_MS = 300
    with ForwardingProxy(aws.url) as proxy:
        proxy.faults.set(latency=0.4)
        settings.AWS_ENDPOINT_URL = proxy.url
        check = connection_check(account=aws_account(org, aws.create_user_key("slowpoke")))
    assert check.status == HealthStatus.DEGRADED
    assert check.response_ms >= 400
    assert "slow" in check.message


class SteppingClock:
    """A clock that moves `step` seconds each time it is read, whatever the machine's speed."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 1000.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.mark.parametrize(("step", "status"), [(0.299, "healthy"), (0.301, "degraded")])
def test_speed_is_classified_by_the_threshold_not_the_machine(aws, org, settings, step, status):
    """One step between the start and the answer: just under or just over 300 ms."""
    settings.HEALTH_DEGRADED_MS = 300
    account = aws_account(org, aws.create_user_key("timed"))
    check = connection_check(account=account, clock=SteppingClock(step))
    assert check.status == status
    assert ("slow: 301 ms" in check.message) == (status == "degraded")


def test_an_endpoint_that_never_answers_does_not_hang_the_worker(org, settings):
    settings.CONNECTION_TEST_TIMEOUT = 1.5
    with FakeServer() as silent:
        silent.faults.set(latency=30)
        settings.AWS_ENDPOINT_URL = silent.url
        started = time.monotonic()
        check = connection_check(account=aws_account(org, ("AKIAEXAMPLEKEY000000", "x")))
        elapsed = time.monotonic() - started
    # The server stalls 30 s: returning long before that is the claim, however busy the
    # machine is (the deadline itself is 1.5 s).
    assert elapsed < 20
    assert check.status == HealthStatus.ERROR
    assert check.message in {
        "AWS did not answer within 1.5 seconds",
        "AWS did not answer in time while trying to check the credentials",
    }
