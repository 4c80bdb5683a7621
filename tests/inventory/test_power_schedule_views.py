"""The power schedule pages: the preview before saving (next runs, matching VMs, the monthly
saving), clear messages for a bad zone or overlapping times with nothing saved, roles,
tenancy, and a list whose queries do not grow with the schedules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from inventory.models import ActionRun, PowerSchedule, Resource, SavedView
from inventory.pricing import hourly_usd
from inventory.schedule_times import WEEKS_PER_MONTH
from inventory.services.ingest import ingest_scope
from inventory.services.power_schedules import power_schedule_save
from mcloud.clouds.base import ResourceRecord
from tests.inventory import estate

pytestmark = pytest.mark.django_db

WEEKDAYS = [{"stop": "19:00", "start": "07:00"}] * 5 + [{"stop": "", "start": ""}] * 2


def vm(n: int, env: str, status: str = "running", size: str = "t3.micro", **tags: str):
    """A VM the price catalog prices by its size (an unknown size is not priced)."""
    return ResourceRecord(
        resource_id=f"i-{n}", name=f"vm-{n}", type="vm", region="eu-west-1", status=status,
        created_at=datetime(2026, 1, 1, tzinfo=UTC), tags={"env": env, **tags},
        metadata={"instance_type": size},
    )  # fmt: skip


@pytest.fixture
def vms(org):
    acct = estate.account(org, "aws-dev")
    records = [vm(1, "dev"), vm(2, "dev", "stopped"), vm(3, "prod"),
               vm(4, "dev", size="zz9.unpriced"),
               vm(5, "dev", **{"mcloud-schedule": "skip"})]  # fmt: skip
    ingest_scope(account=acct, scope="eu-west-1", records=records)
    return acct


def make(org, user, name: str = "Dev", time_zone: str = "UTC") -> PowerSchedule:
    return power_schedule_save(
        organization=org, user=user, name=name, time_zone=time_zone, week=WEEKDAYS,
        saved_view=None, tag_filter="env=dev", enabled=True,
    )  # fmt: skip


def form_data(**changes: str) -> dict[str, str]:
    data = {"name": "Dev nights", "time_zone": "Europe/Paris", "tag_filter": "env=dev",
            "enabled": "on"}  # fmt: skip
    for day in ("mon", "tue", "wed", "thu", "fri"):
        data[f"stop_{day}"], data[f"start_{day}"] = "19:00", "07:00"
    data.update(changes)
    return data


def test_the_preview_shows_the_next_runs_the_vms_and_the_saving_before_saving(login, bob, vms):
    page = login(bob).post(reverse("inventory:schedule_create"), {**form_data(), "preview": "1"})
    assert page.status_code == 200
    html = page.content.decode()
    assert not PowerSchedule.objects.exists()  # a preview saves nothing
    assert html.count("<li><strong>Stop</strong>") + html.count("<li><strong>Start</strong>") == 5
    assert "CET" in html  # the schedule's zone, not the server's
    for name in ("vm-1", "vm-2", "vm-4", "vm-5"):
        assert f">{name}</a>" in html
    assert ">vm-3</a>" not in html
    assert "VMs it matches now: 4" in html
    assert "tagged mcloud-schedule=skip: left alone" in html
    # vm-1 and vm-2 are t3.micro at the catalog's price, off 108 hours a week.
    hourly = float(hourly_usd("aws", "t3.micro", "eu-west-1"))
    assert f"{2 * hourly * 108 * WEEKS_PER_MONTH:.2f} USD a month" in html
    assert "1 VM without a price not counted" in html


def test_the_live_preview_is_a_fragment(login, bob, vms):
    answer = login(bob).post(
        reverse("inventory:schedule_preview"), form_data(), headers={"HX-Request": "true"}
    )
    html = answer.content.decode()
    assert answer.status_code == 200
    assert "<html" not in html
    assert "VMs it matches now: 4" in html
    bad = login(bob).post(reverse("inventory:schedule_preview"), form_data(time_zone="Nowhere"))
    assert "Correct the form to see the preview." in bad.content.decode()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"time_zone": "Europe/Atlantis"}, "&#x27;Europe/Atlantis&#x27; is not a time zone"),
        ({"start_mon": "19:00"}, "Monday stops and starts at the same time (19:00)."),
        ({"start_tue": ""}, "The off-hours overlap: Monday&#x27;s stop at 19:00 is followed by "
                            "Tuesday&#x27;s stop at 19:00 with no start between."),
        ({"stop_mon": "7pm"}, "Give a time as HH:MM, e.g. 19:00."),
        ({"tag_filter": ""}, "Choose a saved view or give a tag filter: which VMs?"),
        ({"tag_filter": "=dev"}, "the key is missing"),
    ],
)  # fmt: skip
def test_bad_input_gets_a_clear_message_and_nothing_is_saved(login, bob, vms, changes, message):
    answer = login(bob).post(reverse("inventory:schedule_create"), form_data(**changes))
    assert answer.status_code == 200  # the form again, with the message
    assert message in answer.content.decode()
    assert not PowerSchedule.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="power_schedule").exists()


def test_a_member_saves_a_schedule_on_a_saved_view_and_it_is_audited(login, bob, vms, org):
    view = SavedView.objects.create(organization=org, owner=bob, name="Dev", query="tag=env%3Ddev")
    client = login(bob)
    answer = client.post(
        reverse("inventory:schedule_create"), form_data(tag_filter="", saved_view=str(view.pk))
    )
    assert answer.status_code == 302
    schedule = PowerSchedule.objects.get()
    assert (schedule.saved_view, schedule.tag_filter, schedule.time_zone) == (
        view,
        "",
        "Europe/Paris",
    )
    assert schedule.week[0] == {"stop": "19:00", "start": "07:00"}
    assert schedule.week[6] == {"stop": "", "start": ""}
    edit = client.get(reverse("inventory:schedule_edit", args=[schedule.pk])).content.decode()
    assert 'value="19:00"' in edit
    assert "VMs it matches now: 4" not in edit  # the preview waits for a change or a click

    client.post(reverse("inventory:schedule_edit", args=[schedule.pk]),
                form_data(tag_filter="", saved_view=str(view.pk), enabled=""))  # fmt: skip
    schedule.refresh_from_db()
    assert not schedule.enabled
    events = list(AuditEvent.objects.filter(action__startswith="power_schedule").order_by("id"))
    assert [e.action for e in events] == ["power_schedule.created", "power_schedule.updated"]
    assert events[1].data["changed"] == {"enabled": False}
    assert events[1].actor == bob


def test_a_name_in_use_is_refused(login, bob, vms, org):
    make(org, bob, "Dev nights")
    answer = login(bob).post(reverse("inventory:schedule_create"), form_data())
    assert "A schedule named Dev nights already exists." in answer.content.decode()
    assert PowerSchedule.objects.count() == 1


def test_viewers_see_the_list_but_cannot_change_it(login, vera, bob, org, vms):
    schedule = make(org, bob)
    client = login(vera)
    page = client.get(reverse("inventory:schedule_list"))
    assert page.status_code == 200
    assert "Dev" in page.content.decode()
    assert "New schedule" not in page.content.decode()
    assert client.get(reverse("inventory:schedule_create")).status_code == 403
    assert client.post(reverse("inventory:schedule_delete", args=[schedule.pk])).status_code == 403
    assert PowerSchedule.objects.exists()


def test_it_checks_ownership(login, charlie, bob, org, vms):
    schedule = make(org, bob)
    client = login(charlie)
    assert client.get(reverse("inventory:schedule_edit", args=[schedule.pk])).status_code == 404
    assert client.post(reverse("inventory:schedule_delete", args=[schedule.pk])).status_code == 404
    preview = client.post(
        reverse("inventory:schedule_preview"), {**form_data(), "schedule": str(schedule.pk)}
    )
    assert preview.status_code == 404
    # Their own preview with the same tag sees none of Acme's VMs.
    own = client.post(reverse("inventory:schedule_preview"), form_data()).content.decode()
    assert "VMs it matches now: 0" in own
    assert "Dev" not in client.get(reverse("inventory:schedule_list")).content.decode()


def test_a_deleted_schedule_is_audited(login, bob, org, vms):
    schedule = make(org, bob)
    assert (
        login(bob).post(reverse("inventory:schedule_delete", args=[schedule.pk])).status_code == 302
    )
    assert not PowerSchedule.objects.exists()
    assert AuditEvent.objects.filter(action="power_schedule.deleted").count() == 1


def test_the_list_queries_do_not_grow_with_the_schedules(
    login, bob, org, vms, django_assert_max_num_queries
):
    client = login(bob)

    def add(count: int, start: int) -> None:
        for n in range(start, start + count):
            make(org, bob, f"S{n}", "Europe/Paris")

    add(2, 0)
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("inventory:schedule_list"))
    add(40, 2)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(reverse("inventory:schedule_list"))
    assert "S41" in page.content.decode()


def test_the_resource_page_names_the_schedule_that_stopped_a_vm(login, bob, org, vms):
    schedule = make(org, bob, "Dev nights")
    resource = Resource.objects.get(name="vm-1")
    ActionRun.objects.create(organization=org, resource=resource, action="stop", status="succeeded",
                             source="schedule", schedule=schedule)  # fmt: skip
    page = login(bob).get(reverse("inventory:resource_detail", args=[resource.pk]))
    assert "schedule Dev nights" in page.content.decode()
