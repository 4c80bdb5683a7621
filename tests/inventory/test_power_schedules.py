"""Off-hours schedules, with an injected clock, against moto (behind a counting proxy) and the
Azure and GCP fakes: a schedule stops the `env=dev` VMs at its time and starts them again;
run twice, or carried on after a worker died mid-way, it acts once per VM (the emulators'
call counts say so); the skip tag, VMs it did not stop, and the action guards are honoured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from accounts.models import AuditEvent
from emulators.base import Request, Response
from emulators.proxy import ForwardingProxy
from inventory.extensions import ACTION_GUARDS
from inventory.models import (
    ActionRun,
    PowerSchedule,
    Resource,
    ScheduleOccurrence,
    ScheduleTarget,
)
from inventory.schedule_times import Occurrence
from inventory.services.power_schedules import (
    occurrence_claim,
    power_schedule_save,
    power_schedules_run,
    target_act,
)
from inventory.services.sync import cloud_account_sync
from tests.inventory import aws_estate
from tests.inventory.factories import aws_account, azure_account, gcp_account

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = [{"stop": "19:00", "start": "07:00"}] * 5 + [{"stop": "", "start": ""}] * 2
TENANT = "11111111-2222-3333-4444-555555555555"
SUB = "aaaaaaaa-0000-0000-0000-000000000001"
PROJECT = "acme-dev"
AZURE_VM = (
    r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Compute/virtualMachines/"
)
GCP_VM = rf"/compute/v1/projects/{PROJECT}/zones/[^/]+/instances/"


class CountingProxy(ForwardingProxy):
    """moto counts nothing: this proxy in front of it counts the EC2 actions it forwards."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.actions: list[tuple[str, str]] = []  # (Action, first InstanceId)

    def dispatch(self, request: Request) -> tuple[Response, bool]:
        form = request.form() if request.method == "POST" else {}
        if form.get("Action") in ("StopInstances", "StartInstances"):
            self.actions.append((form["Action"], form.get("InstanceId.1", "")))
        return super().dispatch(request)

    def count(self, action: str, instance: str | None = None) -> int:
        return sum(1 for a, i in self.actions if a == action and instance in (None, i))


@pytest.fixture
def ec2(aws, settings):
    with CountingProxy(aws.url) as proxy:
        settings.AWS_ENDPOINT_URL = proxy.url
        yield proxy


def monday(hour: int, minute: int = 0, *, weeks: int = 1) -> datetime:
    """A Monday at least a week ahead (schedules act on nothing due before they were saved),
    at `hour`:`minute` in Paris, as UTC."""
    today = datetime.now(PARIS).date()
    day = today + timedelta(days=7 * weeks - today.weekday())
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS).astimezone(UTC)


@pytest.fixture
def estate(org, aws, ec2, azure, gcp):
    """Dev and prod VMs in each cloud, one dev VM of each tagged to be skipped, synced."""
    dev = aws_estate.instances(aws, "eu-west-1", 2, env="dev")
    aws_estate.instances(aws, "eu-west-1", 1, env="prod")
    skipped = aws_estate.instances(aws, "eu-west-1", 1, env="dev", **{"mcloud-schedule": "skip"})
    azure.add_subscription(SUB, "Dev", TENANT)
    azure.add_vm(SUB, name="az-dev", tags={"env": "dev"})
    azure.add_vm(SUB, name="az-prod", tags={"env": "prod"})
    azure.add_app(TENANT, "app-1", "secret", [SUB])
    key = gcp.add_service_account(PROJECT)
    gcp.add_instance(PROJECT, name="gcp-dev", labels={"env": "dev"})
    gcp.add_instance(PROJECT, name="gcp-skip", labels={"env": "dev", "mcloud-schedule": "skip"})
    accounts = [
        aws_account(org, aws.create_user_key("ops"), regions=["eu-west-1"]),
        azure_account(org, TENANT, "app-1", "secret", [SUB]),
        gcp_account(org, key),
    ]
    for account in accounts:
        assert cloud_account_sync(account=account).status == "succeeded"
    return {"dev": dev, "skipped": skipped}


@pytest.fixture
def schedule(org, bob) -> PowerSchedule:
    return power_schedule_save(
        organization=org, user=bob, name="Dev nights", time_zone="Europe/Paris",
        week=WEEKDAYS, saved_view=None, tag_filter="env=dev", enabled=True,
    )  # fmt: skip


def run_at(now: datetime, scheduled) -> int:
    return scheduled(lambda: power_schedules_run(now=now))


def statuses() -> dict[str, str]:
    return dict(Resource.objects.filter(type="vm").values_list("name", "status"))


def test_a_schedule_stops_dev_vms_at_its_time_and_starts_them_again(
    estate, schedule, ec2, azure, gcp, scheduled
):
    before = statuses()
    assert run_at(monday(18, 59), scheduled) == 0  # not yet: nothing claimed, nothing sent
    assert not ScheduleOccurrence.objects.exists()

    assert run_at(monday(19, 0, weeks=1) + timedelta(seconds=30), scheduled) == 1
    after_stop = statuses()
    stopped = {name for name, status in after_stop.items() if status == "stopped"}
    assert stopped == {*estate["dev"], "az-dev", "gcp-dev"}
    assert ec2.count("StopInstances") == 2
    assert azure.calls("POST", AZURE_VM + "az-dev/deallocate") == 1
    assert azure.calls("POST", AZURE_VM + "az-prod/deallocate") == 0
    assert gcp.calls("POST", GCP_VM + "gcp-dev/stop") == 1
    assert gcp.calls("POST", GCP_VM + "gcp-skip/stop") == 0  # tagged mcloud-schedule=skip
    runs = ActionRun.objects.filter(schedule=schedule)
    assert runs.count() == 4
    assert {r.status for r in runs} == {"succeeded"}
    assert {r.source for r in runs} == {"schedule"}
    assert runs.first().requested_by is None
    skipped = ScheduleTarget.objects.get(resource__name="gcp-skip")
    assert (skipped.action_run, skipped.outcome) == (
        None,
        "tagged mcloud-schedule=skip: left alone",
    )

    assert run_at(monday(7, 0, weeks=2) - timedelta(days=6) + timedelta(minutes=1), scheduled) == 1
    assert statuses() == before
    assert ec2.count("StartInstances") == 2
    assert azure.calls("POST", AZURE_VM + "az-dev/start") == 1
    assert gcp.calls("POST", GCP_VM + "gcp-dev/start") == 1
    assert ActionRun.objects.filter(schedule=schedule, action="start").count() == 4
    audited = AuditEvent.objects.filter(action__startswith="power_schedule.").order_by("id")
    assert [a.action for a in audited] == [
        "power_schedule.created",
        "power_schedule.stop",
        "power_schedule.start",
    ]
    assert audited[1].data["queued"] == 4


def test_it_starts_only_the_vms_it_stopped(estate, schedule, ec2, gcp, scheduled):
    gcp_dev = Resource.objects.get(name="gcp-dev")
    # Stopped by someone else before the schedule's stop: the schedule never starts it.
    gcp.set_instance_status(PROJECT, "gcp-dev", "TERMINATED")
    assert cloud_account_sync(account=gcp_dev.account).status == "succeeded"

    run_at(monday(19, 1), scheduled)
    run_at(monday(7, 1) + timedelta(days=1), scheduled)

    assert gcp.calls("POST", GCP_VM + "gcp-dev/(stop|start)") == 0
    gcp_dev.refresh_from_db()
    assert gcp_dev.status == "stopped"
    assert ec2.count("StartInstances") == 2  # the two it stopped


def test_a_schedule_run_twice_acts_once(estate, schedule, ec2, azure, gcp, scheduled):
    at = monday(19, 0) + timedelta(seconds=5)
    assert run_at(at, scheduled) == 1
    assert run_at(at, scheduled) == 0
    assert run_at(at + timedelta(minutes=1), scheduled) == 0  # the next minute's tick
    assert occurrence_claim(schedule=schedule, due=Occurrence("stop", monday(19, 0), at)) is None
    assert ScheduleOccurrence.objects.count() == 1
    assert ec2.count("StopInstances") == 2
    assert azure.calls("POST", AZURE_VM + ".*/deallocate") == 1
    assert gcp.calls("POST", GCP_VM + ".*/stop") == 1


def test_a_worker_killed_mid_schedule_is_carried_on_and_acts_once_per_vm(
    estate, schedule, ec2, azure, gcp, scheduled
):
    due = monday(19, 0)
    occurrence, _token = occurrence_claim(
        schedule=schedule, due=Occurrence("stop", due, due.astimezone(PARIS))
    )
    first_two = list(Resource.objects.filter(name__in=["az-dev", "gcp-dev"]))
    for vm in first_two:  # half done, then the worker dies: its lease runs out
        scheduled(lambda vm=vm: target_act(occurrence, vm, ""))
    ScheduleOccurrence.objects.filter(pk=occurrence.pk).update(
        lease_until=datetime.now(UTC) - timedelta(seconds=1)
    )

    assert run_at(due + timedelta(minutes=1), scheduled) == 1  # carried on by the next tick
    occurrence.refresh_from_db()
    assert occurrence.status == "done"
    assert occurrence.targets.count() == 6  # four acted on, two skipped
    assert ec2.count("StopInstances") == 2
    for instance in estate["dev"]:
        assert ec2.count("StopInstances", instance) == 1
    assert azure.calls("POST", AZURE_VM + "az-dev/deallocate") == 1
    assert gcp.calls("POST", GCP_VM + "gcp-dev/stop") == 1
    assert run_at(due + timedelta(minutes=2), scheduled) == 0


def test_refused_vms_are_left_alone_with_the_reason(estate, schedule, ec2, monkeypatch, scheduled):
    monkeypatch.setitem(
        ACTION_GUARDS, "test", lambda resource, action: "Managed: use its deployment."
    )
    run_at(monday(19, 0) + timedelta(seconds=1), scheduled)
    outcomes = set(ScheduleTarget.objects.values_list("outcome", flat=True))
    assert "refused: Managed: use its deployment." in outcomes
    assert ec2.count("StopInstances") == 0
    assert not ActionRun.objects.exists()


def test_nothing_due_before_the_schedule_was_saved_or_long_ago_runs(org, bob, scheduled):
    saved = power_schedule_save(
        organization=org, user=bob, name="Late", time_zone="UTC", week=WEEKDAYS,
        saved_view=None, tag_filter="env=dev", enabled=True,
    )  # fmt: skip
    PowerSchedule.objects.filter(pk=saved.pk).update(active_since=monday(12, 0))
    late = datetime(2030, 1, 7, 19, 45, tzinfo=UTC)  # a Monday, 45 minutes after its stop
    assert run_at(late, scheduled) == 0
    assert not ScheduleOccurrence.objects.exists()


def test_a_dst_change_runs_each_local_time_once(org, bob, scheduled):
    saved = power_schedule_save(
        organization=org, user=bob, name="NY", time_zone="America/New_York",
        week=[{"stop": "01:30", "start": "06:00"}] * 7, saved_view=None, tag_filter="env=dev",
        enabled=True,
    )  # fmt: skip
    PowerSchedule.objects.filter(pk=saved.pk).update(active_since=datetime(2030, 1, 1, tzinfo=UTC))
    # 3 November 2030: 01:30 happens twice in New York (EDT, then EST).
    first = datetime(2030, 11, 3, 5, 30, tzinfo=UTC)  # 01:30 EDT
    for minute in range(0, 70, 5):
        run_at(first + timedelta(minutes=minute), scheduled)
    stops = list(ScheduleOccurrence.objects.filter(kind="stop").values_list("due_at", flat=True))
    assert stops == [first]
    # 10 March 2030: 01:30 EST, then 06:00 EDT (UTC-4).
    run_at(datetime(2030, 3, 10, 6, 31, tzinfo=UTC), scheduled)
    run_at(datetime(2030, 3, 10, 10, 0, 30, tzinfo=UTC), scheduled)
    march = set(ScheduleOccurrence.objects.filter(due_at__month=3).values_list("kind", "due_at"))
    assert march == {
        ("stop", datetime(2030, 3, 10, 6, 30, tzinfo=UTC)),
        ("start", datetime(2030, 3, 10, 10, 0, tzinfo=UTC)),
    }
