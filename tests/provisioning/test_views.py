"""The provisioning pages: the whole flow through the views (tasks run inline at commit, as
Q_SYNC makes them in tests), roles, isolation, the live log, and query counts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from inventory.models import Resource
from mcloud.errors import ActionRefused
from provisioning.models import Deployment, DeploymentRun, ProvisioningSettings
from provisioning.services.deployments import provisioning_settings_update
from provisioning.services.runs import run_plan_queue
from provisioning.services.state import DatabaseStateStore
from provisioning.state_server import StateLock
from tests.inventory.estate import terraform_state
from tests.inventory.factories import aws_account
from tests.provisioning.conftest import SECRET, make_deployment, planned

pytestmark = pytest.mark.django_db
Status = DeploymentRun.Status
HTMX = {"HX-Request": "true"}


def url(name: str, *args: object) -> str:
    return reverse(f"provisioning:{name}", args=args)


def test_a_member_deploys_hello_and_an_admin_approves_applies_and_destroys(
    login, bob, ada, hello_version, django_capture_on_commit_callbacks
):
    member, admin = login(bob), login(ada)
    choose = member.get(url("deployment_create")).content.decode()
    assert f'href="?blueprint={hello_version.blueprint_id}"' in choose
    form_url = f"{url('deployment_create')}?blueprint={hello_version.blueprint_id}"
    response = member.post(form_url, {
        "name": "greeter", "account": "", "var_name": "Ada", "var_greeting": "Hi",
        "var_sleep_seconds": "0", "var_secret_token": SECRET, "var_labels": '{"team": "infra"}',
    })  # fmt: skip
    deployment = Deployment.objects.get(name="greeter")
    assert response.url == url("deployment_detail", deployment.pk)
    assert deployment.variables == {"name": "Ada", "greeting": "Hi", "sleep_seconds": 0,
                                    "labels": {"team": "infra"}}  # fmt: skip
    assert deployment.sensitive_variables == {"secret_token": SECRET}

    with django_capture_on_commit_callbacks(execute=True):
        response = member.post(url("deployment_plan", deployment.pk))
    plan = DeploymentRun.objects.get(deployment=deployment)
    assert response.url == url("run_detail", plan.pk)
    page = admin.get(response.url).content.decode()
    assert "Awaiting approval" in page
    assert "Approve &amp; apply" in page
    assert "null_resource.greeting" in page
    assert 'id="plan-counts"' in page
    assert "run-log-tail" not in page  # final: no polling
    assert "Approve &amp; apply" not in member.get(response.url).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(url("run_approve", plan.pk))
    apply = DeploymentRun.objects.get(plan_run=plan)
    assert response.url == url("run_detail", apply.pk)
    page = admin.get(response.url).content.decode()
    assert "null_resource.greeting (local-exec): Hi, Ada!" in page
    assert 'id="outputs"' in page
    assert "sensitive" in page
    apply.refresh_from_db()
    assert apply.status == Status.APPLIED
    detail = admin.get(url("deployment_detail", deployment.pk)).content.decode()
    assert "Hi, Ada!" in detail  # the message output
    assert "{&quot;team&quot;: &quot;infra&quot;}" in detail  # a map, as JSON (escaped)
    assert "sensitive, set" in detail

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(url("deployment_destroy", deployment.pk))
    destroy = DeploymentRun.objects.get(deployment=deployment, kind=DeploymentRun.Kind.DESTROY)
    assert destroy.status == Status.PLANNED
    assert "Type <strong>greeter</strong> to confirm" in admin.get(response.url).content.decode()
    wrong = admin.post(url("run_approve", destroy.pk), {"confirm_name": "greet"}, follow=True)
    assert "Type the deployment&#x27;s name, greeter, to destroy it." in wrong.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(url("run_approve", destroy.pk), {"confirm_name": "greeter"})
    deployment.refresh_from_db()
    assert deployment.status == Deployment.Status.DESTROYED


def test_the_form_is_generated_from_the_variables_and_checks_them(login, bob, hello_version):
    client = login(bob)
    form_url = f"{url('deployment_create')}?blueprint={hello_version.blueprint_id}"
    html = client.get(form_url).content.decode()
    assert 'name="var_secret_token"' in html
    assert 'type="password"' in html
    assert 'name="var_name" value="world"' in html  # the default
    assert '<textarea name="var_labels"' in html  # a map, as JSON
    assert "Seconds the provisioner sleeps" in html  # the description
    response = client.post(form_url, {"name": "bad name!", "var_sleep_seconds": "soon",
                                      "var_labels": "[1]"})  # fmt: skip
    html = response.content.decode()
    assert response.status_code == 200
    assert "sleep_seconds: not a number" in html
    assert "labels: not a JSON object" in html
    assert "Use up to 63 letters" in html
    assert not Deployment.objects.exists()


def test_a_blank_sensitive_field_keeps_the_stored_value(login, bob, deployment):
    client = login(bob)
    html = client.get(url("deployment_edit", deployment.pk)).content.decode()
    assert SECRET not in html
    assert "A value is stored. Leave this blank to keep it." in html
    client.post(url("deployment_edit", deployment.pk), {
        "account": "", "var_name": "Bo", "var_greeting": "Hello", "var_sleep_seconds": "0",
        "var_secret_token": "", "var_labels": "{}",
    })  # fmt: skip
    deployment.refresh_from_db()
    assert deployment.variables["name"] == "Bo"
    assert deployment.sensitive_variables == {"secret_token": SECRET}


def test_a_cloud_blueprint_wants_an_account_of_its_cloud(login, ada, org, aws):
    from provisioning.models import Blueprint

    version = Blueprint.objects.get(slug="aws-s3-bucket", organization=None).latest_version
    assert version.cloud == "aws"
    client = login(ada)
    form_url = f"{url('deployment_create')}?blueprint={version.blueprint_id}"
    html = client.get(form_url).content.decode()
    assert "var_deployment_id" not in html  # mcloud fills it in
    assert "This blueprint deploys to AWS." in html
    response = client.post(form_url, {"name": "bucket", "var_bucket_name": "b-1"})
    assert "This field is required." in response.content.decode()
    account = aws_account(org, aws.create_user_key("deployer"))
    response = client.post(form_url, {"name": "bucket", "var_bucket_name": "b-1",
                                      "account": account.pk, "var_versioning": "true",
                                      "var_force_destroy": "false"})  # fmt: skip
    assert response.status_code == 302
    assert Deployment.objects.get(name="bucket").account == account


def test_roles_members_plan_admins_approve_apply_and_destroy(login, team, deployment):
    bob, vera = login(team["bob"]), login(team["vera"])
    plan = planned(deployment, team["alice"])
    assert vera.post(url("deployment_plan", deployment.pk)).status_code == 403
    assert vera.post(url("run_discard", plan.pk)).status_code == 403
    assert vera.get(url("deployment_create")).status_code == 403
    assert vera.get(url("run_detail", plan.pk)).status_code == 200  # viewers read
    assert bob.post(url("run_approve", plan.pk)).status_code == 403
    assert bob.post(url("deployment_destroy", deployment.pk)).status_code == 403
    assert bob.post(url("deployment_unlock", deployment.pk)).status_code == 403
    assert bob.post(url("settings_update"), {"require_second_approver": "on"}).status_code == 403
    assert bob.get(url("blueprint_create")).status_code == 403
    apply = run_plan_queue(deployment=deployment, user=team["bob"], enqueue=False)
    DeploymentRun.objects.filter(pk=apply.pk).update(kind=DeploymentRun.Kind.APPLY)
    assert bob.post(url("run_cancel", apply.pk)).status_code == 403  # an apply: admins only
    plan.refresh_from_db()
    assert plan.status == Status.DISCARDED  # superseded, never approved
    assert not DeploymentRun.objects.filter(status=Status.APPLIED).exists()


def test_a_member_cancels_a_queued_plan(login, bob, deployment):
    run = run_plan_queue(deployment=deployment, user=bob, enqueue=False)
    page = login(bob).post(url("run_cancel", run.pk), follow=True).content.decode()
    assert f"Cancelled run #{run.pk}." in page
    run.refresh_from_db()
    assert run.status == Status.CANCELLED


def test_another_organizations_deployments_runs_and_blueprints_are_404(
    login, charlie, deployment, alice, other_org
):
    from provisioning.services.blueprints import blueprint_create

    plan = planned(deployment, alice)
    ours = blueprint_create(organization=deployment.organization, name="Ours", description="",
                            files={"main.tf": "# nothing\n"}, user=alice)  # fmt: skip
    client = login(charlie)
    for name in ("deployment_detail", "deployment_edit"):
        assert client.get(url(name, deployment.pk)).status_code == 404, name
    for name in ("deployment_plan", "deployment_destroy", "deployment_unlock"):
        assert client.post(url(name, deployment.pk)).status_code == 404, name
    for name in ("run_detail", "run_log", "run_panel"):
        assert client.get(url(name, plan.pk)).status_code == 404, name
    for name in ("run_approve", "run_discard", "run_cancel"):
        assert client.post(url(name, plan.pk)).status_code == 404, name
    assert client.get(url("blueprint_detail", ours.pk)).status_code == 404
    assert client.get(url("blueprint_upload", ours.pk)).status_code == 404
    assert client.get(f"{url('deployment_create')}?blueprint={ours.pk}").status_code == 404
    assert "hello-1" not in client.get(url("deployment_list")).content.decode()
    plan.refresh_from_db()
    assert plan.status == Status.PLANNED


def test_the_log_endpoint_returns_only_new_text_and_stops_when_final(login, vera, deployment):
    run = run_plan_queue(deployment=deployment, user=None, enqueue=False)
    DeploymentRun.objects.filter(pk=run.pk).update(status=Status.RUNNING, log="one\ntwo <b>\n")
    client = login(vera)
    page = client.get(url("run_detail", run.pk)).content.decode()
    assert "one\ntwo &lt;b&gt;\n" in page
    assert f'{url("run_log", run.pk)}?offset=12" hx-trigger="every 1s"' in page

    body = client.get(url("run_log", run.pk), {"offset": 4}, headers=HTMX).content.decode()
    assert "<html" not in body
    assert "<span>two &lt;b&gt;\n</span>" in body
    assert "?offset=12" in body
    assert 'hx-trigger="every 1s"' in body
    quiet = client.get(url("run_log", run.pk), {"offset": 12}, headers=HTMX).content.decode()
    assert "<span>" not in quiet.split("<span id")[0]
    assert "?offset=12" in quiet

    DeploymentRun.objects.filter(pk=run.pk).update(status=Status.FAILED, log="one\ntwo <b>\nend\n")
    last = client.get(url("run_log", run.pk), {"offset": 12}, headers=HTMX)
    # Nothing but the new text lands in the log (the status badge is swapped out of band).
    assert last.content.decode().startswith('<span>end\n</span><span id="run-status" hx-swap-oob')
    assert "run-log-tail" not in last.content.decode()
    assert last["HX-Trigger"] == "runFinished"  # the page reloads the status panel
    plain = client.get(url("run_log", run.pk), {"offset": 4})
    assert plain["Content-Type"].startswith("text/plain")
    assert (plain.content.decode(), plain["X-Log-Offset"]) == ("two <b>\nend\n", "16")
    for junk in ("-5", "x", str(10**40)):  # clamped, never a server error
        assert client.get(url("run_log", run.pk), {"offset": junk}).status_code == 200

    panel = client.get(url("run_panel", run.pk), headers=HTMX).content.decode()
    assert "<html" not in panel
    assert 'id="run-panel"' in panel
    assert "Failed" in panel


def test_the_runs_table_polls_while_a_run_is_active(login, vera, deployment):
    run_plan_queue(deployment=deployment, user=None, enqueue=False)
    client = login(vera)
    page = client.get(url("deployment_detail", deployment.pk)).content.decode()
    assert 'hx-trigger="every 2s"' in page
    fragment = client.get(url("deployment_detail", deployment.pk), headers=HTMX).content.decode()
    assert "<html" not in fragment
    assert 'id="runs"' in fragment
    assert "Queued" in fragment


def test_admins_set_the_second_person_rule_on_the_provisioning_page(login, ada, vera, org):
    page = login(ada).get(url("deployment_list")).content.decode()
    assert 'name="require_second_approver"' in page
    login(ada).post(url("settings_update"), {"require_second_approver": "on"})
    assert ProvisioningSettings.objects.get(organization=org).require_second_approver
    assert (
        "must be approved by someone other"
        in login(vera).get(url("deployment_list")).content.decode()
    )
    assert AuditEvent.objects.filter(action="provisioning.settings_changed").exists()


def test_only_owners_turn_the_second_person_rule_off(login, ada, alice, org):
    login(ada).post(url("settings_update"), {"require_second_approver": "on"})
    page = login(ada).get(url("deployment_list")).content.decode()
    assert "Only an owner can turn this off." in page
    refused = login(ada).post(url("settings_update"), {}, follow=True).content.decode()
    assert "Only an owner can stop requiring a second approver." in refused
    assert ProvisioningSettings.objects.get(organization=org).require_second_approver
    with pytest.raises(ActionRefused):
        provisioning_settings_update(organization=org, require_second_approver=False, user=ada)
    login(alice).post(url("settings_update"), {})
    assert not ProvisioningSettings.objects.get(organization=org).require_second_approver


def test_the_second_person_rule_holds_in_the_views(login, org, alice, ada, deployment):
    ProvisioningSettings.objects.create(organization=org, require_second_approver=True)
    plan = planned(deployment, ada)
    page = login(ada).get(url("run_detail", plan.pk)).content.decode()
    assert "another admin or owner must approve it" in page
    refused = login(ada).post(url("run_approve", plan.pk), follow=True).content.decode()
    assert "requires a second person" in refused
    assert not DeploymentRun.objects.filter(plan_run=plan).exists()
    login(alice).post(url("run_approve", plan.pk))
    assert DeploymentRun.objects.filter(plan_run=plan).exists()


def test_an_admin_forces_a_stale_state_lock_open(login, ada, deployment):
    DatabaseStateStore(deployment).lock(StateLock("x", b'{"ID": "x", "Who": "w@gone"}'))
    page = login(ada).get(url("deployment_detail", deployment.pk)).content.decode()
    assert "The state is locked" in page
    assert "w@gone" in page
    login(ada).post(url("deployment_unlock", deployment.pk))
    deployment.refresh_from_db()
    assert deployment.state_lock_id == ""


def test_a_managed_resource_links_to_its_deployment(login, vera, org, deployment, aws):
    account = aws_account(org, aws.create_user_key("reader"))
    resource = Resource.objects.create(
        organization=org, account=account, provider="aws", resource_id="i-1", name="web",
        type="vm", region="eu-west-1", scope="eu-west-1", status="running", fingerprint="x",
        deployment_ref=str(deployment.pk), tags={"mcloud-deployment": str(deployment.pk)},
    )  # fmt: skip
    page = login(vera).get(reverse("inventory:resource_detail", args=[resource.pk]))
    assert url("deployment_detail", deployment.pk) not in page.content.decode()  # a tag only
    assert "the tag alone does not make it managed" in page.content.decode()
    DatabaseStateStore(deployment).save(terraform_state("i-1"))
    page = login(vera).get(reverse("inventory:resource_detail", args=[resource.pk]))
    assert url("deployment_detail", deployment.pk) in page.content.decode()
    assert ">managed by hello-1</a>" in page.content.decode()


def _many(org, alice, version, count: int) -> None:
    for n in range(count):
        d = make_deployment(org, alice, version, f"d-{n}")
        runs = [
            DeploymentRun(organization=org, deployment=d, kind="plan", status=Status.FAILED,
                          blueprint_version=version, started_by=alice, approved_by=alice,
                          log="x" * 100)
            for _ in range(3)
        ]  # fmt: skip
        DeploymentRun.objects.bulk_create(runs)
        Deployment.objects.filter(pk=d.pk).update(last_run=runs[-1])


@pytest.mark.parametrize("count", [2, 30])
def test_the_list_and_detail_pages_have_bounded_query_counts(
    count, login, alice, org, hello_version, django_assert_max_num_queries
):
    _many(org, alice, hello_version, count)
    client = login(alice)
    # session, user, membership, settings, the rows (and the organization switcher's list)
    with django_assert_max_num_queries(6):
        page = client.get(url("deployment_list"))
    assert page.content.decode().count("<tr>") == count + 1
    deployment = Deployment.objects.get(name="d-1")
    with django_assert_max_num_queries(10):  # its cost: resources' ids, applied estimate
        page = client.get(url("deployment_detail", deployment.pk))
    assert page.content.decode().count("<tr>") == 3 + 1
    run = deployment.runs.first()
    with django_assert_max_num_queries(8):  # a plan's page also lists its applies, its policies
        client.get(url("run_detail", run.pk))
    with django_assert_max_num_queries(5):
        client.get(url("blueprint_list"))
    with django_assert_max_num_queries(4):
        client.get(url("run_log", run.pk), {"offset": 10}, headers=HTMX)
