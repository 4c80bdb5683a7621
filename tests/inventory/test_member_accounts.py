"""An AWS organization connected once: its member accounts discovered, synced on their own,
retired when they leave; against moto's server (AWS Organizations, STS, EC2)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from inventory.account_adapters import external_id_for
from inventory.models import CloudAccount, ProviderHealth, Resource, SyncRun
from inventory.services.accounts import cloud_account_delete
from inventory.services.members import account_members_discover
from inventory.services.sync import cloud_account_sync
from mcloud.errors import ActionRefused
from tests.inventory.factories import aws_account

pytestmark = pytest.mark.django_db

REGIONS = ["us-east-1"]


@pytest.fixture
def tree(aws, org):
    """The management account with two member accounts, one in a unit, each with a VM."""
    root = aws.organization_create()
    org_client = aws.client("organizations")
    prod = org_client.create_organizational_unit(ParentId=root, Name="Prod")
    unit = prod["OrganizationalUnit"]["Id"]
    external_id = external_id_for(org)
    web = aws.member_create("web-prod", parent_id=unit, external_id=external_id)
    data = aws.member_create("data-lake", parent_id=root, external_id=external_id)
    for member in (web, data):
        ec2 = aws.member_client(member, "ec2")
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro")
    return {"root": root, "web": web, "data": data}


@pytest.fixture
def connection(aws, org):
    return aws_account(
        org, aws.create_user_key("org-reader"), regions=REGIONS, name="acme-org",
        discover_members=True, member_role_name="mcloud-reader",
    )  # fmt: skip


def test_the_connections_sync_discovers_each_member_and_its_place(connection, tree):
    run = cloud_account_sync(account=connection)

    assert run.status == SyncRun.State.SUCCEEDED, (run.error, run.scope_errors)
    assert "2 member accounts: 2 new" in run.notes
    members = {m.member_id: m for m in connection.members.all()}
    assert set(members) == {tree["web"], tree["data"]}
    web = members[tree["web"]]
    assert (web.name, web.member_path, web.provider, web.secrets) == (
        "acme-org / web-prod", "Root / Prod", "aws", {}
    )  # fmt: skip
    assert members[tree["data"]].member_path == "Root"
    assert AuditEvent.objects.filter(action="cloud_account.member_found").count() == 2


def test_a_member_syncs_its_own_resources_through_its_reader_role(connection, tree):
    account_members_discover(account=connection)
    web = connection.members.get(member_id=tree["web"])

    run = cloud_account_sync(account=web)

    assert run.status == SyncRun.State.SUCCEEDED, (run.error, run.scope_errors)
    vms = Resource.objects.filter(account=web, type="vm", deleted_at__isnull=True)
    assert vms.count() == 1
    # The management account has none: the member's VM was listed in the member.
    assert not Resource.objects.filter(account=connection, type="vm").exists()


def test_new_members_are_all_synced_before_they_are_checked(
    connection, tree, django_capture_on_commit_callbacks
):
    # The organization's inventory comes first; each member's connection check follows.
    with django_capture_on_commit_callbacks(execute=True):
        account_members_discover(account=connection)

    members = list(connection.members.all())
    runs = SyncRun.objects.filter(account__in=members)
    checks = ProviderHealth.objects.filter(account__in=members)
    assert runs.filter(status=SyncRun.State.SUCCEEDED).count() == checks.count() == 2
    assert max(runs.values_list("finished_at", flat=True)) <= min(
        checks.values_list("checked_at", flat=True)
    )


def test_a_member_without_the_role_fails_alone(aws, connection, tree, org):
    lonely = aws.member_create("no-role", parent_id=tree["root"], role="")
    account_members_discover(account=connection)
    broken = connection.members.get(member_id=lonely)
    fine = connection.members.get(member_id=tree["data"])

    assert cloud_account_sync(account=broken).status == SyncRun.State.FAILED
    assert cloud_account_sync(account=fine).status == SyncRun.State.SUCCEEDED


def test_a_member_that_leaves_is_retired_and_one_that_joins_appears(aws, connection, tree):
    account_members_discover(account=connection)
    web = connection.members.get(member_id=tree["web"])
    cloud_account_sync(account=web)
    aws.member_leave(tree["web"])
    newcomer = aws.member_create("new-team", parent_id=tree["root"])

    found = account_members_discover(account=connection)

    assert [m.member_id for m in found.found] == [newcomer]
    assert [m.pk for m in found.left] == [web.pk]
    web.refresh_from_db()
    assert web.retired_at is not None
    assert not web.is_active
    assert web.state_label == "Left the organization"
    assert not Resource.objects.filter(account=web, deleted_at__isnull=True).exists()
    assert Resource.objects.filter(account=web).exists()  # kept, as removed
    assert CloudAccount.objects.active().filter(pk=web.pk).count() == 0
    left = AuditEvent.objects.get(action="cloud_account.member_left")
    assert left.data["resources_removed"] == Resource.objects.filter(account=web).count() > 0


def test_an_excluded_member_stays_excluded(connection, tree):
    account_members_discover(account=connection)
    data = connection.members.get(member_id=tree["data"])
    data.enabled = False
    data.save()

    account_members_discover(account=connection)

    data.refresh_from_db()
    assert (data.enabled, data.state_label) == (False, "Excluded")


def test_an_organization_that_cannot_be_listed_changes_nothing(aws, org, tree):
    # A user without organizations:ListAccounts: the sync says so and syncs its own account.
    policy = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ec2:*", "s3:*", "rds:*", "sts:*"], "Resource": "*"}]}'  # noqa: E501
    connection = aws_account(
        org, aws.create_user_key("no-orgs", policy), regions=REGIONS, discover_members=True
    )

    run = cloud_account_sync(account=connection)

    assert run.status == SyncRun.State.SUCCEEDED, (run.error, run.scope_errors)
    assert any(n.startswith("Could not list the organization's accounts: AWS denied")
               for n in run.notes), run.notes  # fmt: skip
    assert not connection.members.exists()


def test_member_accounts_are_not_edited_or_deleted_by_hand(login, alice, connection, tree):
    account_members_discover(account=connection)
    web = connection.members.get(member_id=tree["web"])
    client = login(alice)

    page = client.get(reverse("inventory:account_edit", args=[web.pk]), follow=True)
    assert "it signs in through that connection" in page.content.decode()
    client.post(reverse("inventory:account_delete", args=[web.pk]), {"confirm_name": web.name})
    assert CloudAccount.objects.filter(pk=web.pk).exists()
    with pytest.raises(ActionRefused):
        cloud_account_delete(account=web, user=alice)


def test_the_connection_page_lists_members_in_bounded_queries(
    login, alice, connection, tree, aws, django_assert_max_num_queries
):
    account_members_discover(account=connection)
    client = login(alice)
    url = reverse("inventory:account_detail", args=[connection.pk])
    with django_assert_max_num_queries(40) as few:
        page = client.get(url)
    body = page.content.decode()
    assert "Member accounts" in body
    assert "acme-org / web-prod" in body
    assert "Root / Prod" in body
    for n in range(4):
        aws.member_create(f"more-{n}", parent_id=tree["root"])
    account_members_discover(account=connection)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


def test_excluding_a_member_from_the_connection_page(login, alice, connection, tree):
    account_members_discover(account=connection)
    data = connection.members.get(member_id=tree["data"])
    page = login(alice).post(
        reverse("inventory:account_toggle", args=[data.pk]), {"back": "connection"}
    )
    assert page.url == reverse("inventory:account_detail", args=[connection.pk])
    data.refresh_from_db()
    assert not data.enabled


def test_the_api_includes_and_excludes_but_does_not_edit_members(login, alice, connection, tree):
    account_members_discover(account=connection)
    web = connection.members.get(member_id=tree["web"])
    client = login(alice)
    url = f"/api/cloud-accounts/{web.pk}"

    answer = client.patch(url, {"enabled": False}, content_type="application/json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["enabled"] is False
    assert (answer.json()["parent_id"], answer.json()["member_id"]) == (
        connection.pk,
        web.member_id,
    )
    answer = client.patch(url, {"name": "renamed"}, content_type="application/json")
    assert answer.status_code == 409
    assert "signs in through that connection" in answer.json()["error"]["message"]


def test_another_organizations_member_is_a_404(login, charlie, connection, tree):
    account_members_discover(account=connection)
    web = connection.members.get(member_id=tree["web"])
    client = login(charlie)
    assert client.get(reverse("inventory:account_detail", args=[web.pk])).status_code == 404
    toggle = client.post(reverse("inventory:account_toggle", args=[web.pk]))
    assert toggle.status_code == 404


def test_the_reader_role_template_is_valid_cloudformation_that_makes_the_role(
    aws, login, alice, org, tree
):
    from cfnlint.api import lint

    url = reverse("inventory:aws_reader_role_template")
    principal = "arn:aws:iam::123456789012:root"
    answer = login(alice).get(url, {"role": "acme-reader", "principal": principal})
    assert answer["Content-Type"] == "application/yaml"
    assert "attachment" in answer["Content-Disposition"]
    body = answer.content.decode()
    assert [str(m) for m in lint(body)] == []
    cfn = aws.member_client(tree["data"], "cloudformation")
    cfn.create_stack(StackName="mcloud", TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"])
    role = aws.member_client(tree["data"], "iam").get_role(RoleName="acme-reader")["Role"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": principal}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": external_id_for(org)}}


def test_the_template_ignores_what_is_not_a_role_name_or_principal(login, alice):
    url = reverse("inventory:aws_reader_role_template")
    body = login(alice).get(url, {"role": "x\ny: 1", "principal": "*"}).content.decode()
    assert "Default: mcloud-reader" in body
    assert "y: 1" not in body
    assert 'Default: "*"' not in body


def test_viewers_cannot_download_the_template(login, vera):
    assert login(vera).get(reverse("inventory:aws_reader_role_template")).status_code == 403


def test_members_costs_are_left_to_the_connections_consolidated_bill(connection, tree):
    from billing.tasks import import_account_costs, import_all_costs

    account_members_discover(account=connection)
    web = connection.members.get(member_id=tree["web"])
    assert set(CloudAccount.objects.cost_importing()) == {connection}
    assert import_account_costs(web.pk) is None  # nothing imported, nothing counted twice
    assert import_all_costs() == 1
