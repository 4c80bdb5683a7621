"""Blueprints: the bundled ones synced into the database and versioned, organizations' own
uploaded as a zip or pasted (every refusal a form error that writes nothing), their pages."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from provisioning import blueprint_files
from provisioning.models import Blueprint, BlueprintVersion
from provisioning.services import blueprints as services
from tests.provisioning.conftest import applied, make_deployment, planned

pytestmark = pytest.mark.django_db

MAIN = 'resource "null_resource" "x" {}\n'
VARIABLES = 'variable "size" {\n  type    = number\n  default = 2\n}\n'


def url(name: str, *args: object) -> str:
    return reverse(f"provisioning:{name}", args=args)


def zipped(files: dict[str, str]) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return SimpleUploadedFile("bp.zip", buffer.getvalue(), content_type="application/zip")


def test_the_bundled_blueprints_are_in_the_database_for_everyone(hello_version):
    bundled = Blueprint.objects.filter(organization=None)
    assert sorted(bundled.values_list("slug", flat=True)) == [
        "aws-ec2-instance", "aws-s3-bucket", "azure-linux-vm", "gcp-compute-instance", "hello",
    ]  # fmt: skip
    assert hello_version.number == 1
    assert {v["name"] for v in hello_version.variables} >= {"name", "secret_token"}
    assert hello_version.sensitive_names == {"secret_token"}
    clouds = dict(bundled.values_list("slug", "latest_version__cloud"))
    assert clouds == {"aws-ec2-instance": "aws", "aws-s3-bucket": "aws", "hello": "",
                      "azure-linux-vm": "azure", "gcp-compute-instance": "gcp"}  # fmt: skip


def test_a_bundled_blueprint_gets_a_version_when_its_files_change(hello_version, monkeypatch):
    assert services.blueprint_sync_bundled() == []  # unchanged: nothing new
    original = blueprint_files.bundled_blueprints()

    def changed():
        return [
            blueprint_files.BundledBlueprint(b.slug, b.name, b.description,
                                 {**b.files, "extra.tf": "# more\n"} if b.slug == "hello"
                                 else b.files)
            for b in original
        ]  # fmt: skip

    monkeypatch.setattr(services, "bundled_blueprints", changed)
    added = services.blueprint_sync_bundled()
    assert [(v.blueprint.slug, v.number) for v in added] == [("hello", 2)]
    assert services.blueprint_sync_bundled() == []
    hello_version.refresh_from_db()  # the old version stays as it was, for its deployments
    assert "extra.tf" not in hello_version.files
    assert hello_version.blueprint.latest_version.number == 2


def test_the_cloud_blueprints_tag_resources_with_the_deployment_id(hello_version):
    for slug in ("aws-ec2-instance", "aws-s3-bucket", "azure-linux-vm", "gcp-compute-instance"):
        version = Blueprint.objects.get(organization=None, slug=slug).latest_version
        assert "deployment_id" in {v["name"] for v in version.variables}, slug
        assert '"mcloud-deployment" = var.deployment_id' in "".join(version.files.values())


def test_the_app_fills_in_the_deployment_id(org, alice, hello_version):
    blueprint = services.blueprint_create(
        organization=org, name="Tagged", description="", user=alice,
        files={**hello_version.files, "id.tf": 'variable "deployment_id" {\n  type = string\n}\n'
               'output "tag" {\n  value = var.deployment_id\n}\n'},
    )  # fmt: skip
    deployment = make_deployment(org, alice, blueprint.latest_version, "tagged")
    assert "deployment_id" not in deployment.variables
    apply = applied(planned(deployment, alice), alice)
    assert apply.outputs["tag"]["value"] == str(deployment.pk)


def test_an_admin_uploads_a_zip_and_then_new_versions(login, ada, org):
    client = login(ada)
    response = client.post(url("blueprint_create"), {
        "name": "Null pair", "description": "Two nulls",
        "archive": zipped({"pair/main.tf": MAIN, "pair/variables.tf": VARIABLES}),
    })  # fmt: skip
    blueprint = Blueprint.objects.get(organization=org)
    assert response.url == url("blueprint_detail", blueprint.pk)
    assert (blueprint.slug, blueprint.latest_version.number) == ("null-pair", 1)
    assert sorted(blueprint.latest_version.files) == ["main.tf", "variables.tf"]  # top folder off
    assert blueprint.latest_version.variables[0]["name"] == "size"

    same = client.post(url("blueprint_upload", blueprint.pk),
                       {"archive": zipped({"main.tf": MAIN, "variables.tf": VARIABLES})},
                       follow=True)  # fmt: skip
    assert "those of the latest version already" in same.content.decode()
    client.post(url("blueprint_upload", blueprint.pk), {"paste_main_tf": MAIN + "# v2\n"})
    assert list(blueprint.versions.values_list("number", flat=True)) == [2, 1]
    page = client.get(url("blueprint_detail", blueprint.pk), {"version": 1}).content.decode()
    assert "variables.tf" in page
    assert "v2" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"paste_main_tf": 'terraform {\n  backend "s3" {}\n}\n'}, "declares a backend"),
        ({"paste_variables_tf": 'variable "x" {\n  type = string\n'}, "invalid HCL"),
        (
            {"paste_main_tf": 'variable "x" {\n  default = "${var.y}"\n}\n'},
            "must be a literal value",
        ),
        ({}, "Upload a zip archive or paste at least main.tf."),
        ({"archive": "zip", "paste_main_tf": MAIN}, "not both"),
        ({"archive": "evil"}, "&#x27;..&#x27; is not allowed in paths"),
        ({"archive": "junk"}, "Not a zip archive"),
        ({"archive": "binary"}, "only .tf, .tf.json, .md, .tpl, .tftpl files are allowed"),
    ],
)
def test_a_refused_upload_is_a_form_error_and_writes_nothing(login, ada, org, data, message):
    archives = {
        "zip": zipped({"main.tf": MAIN}),
        "evil": zipped({"../evil.tf": MAIN}),
        "junk": SimpleUploadedFile("bp.zip", b"not a zip"),
        "binary": zipped({"main.tf": MAIN, "tool.exe": "MZ"}),
    }
    if "archive" in data:
        data = {**data, "archive": archives[data["archive"]]}
    response = login(ada).post(url("blueprint_create"), {"name": "Bad", **data})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Blueprint.objects.filter(organization=org).exists()
    assert BlueprintVersion.objects.filter(blueprint__organization=org).count() == 0


def test_blueprint_pages_show_files_escaped_and_read_only(login, vera, alice, org):
    blueprint = services.blueprint_create(
        organization=org, name="Mine", description="", user=alice,
        files={"main.tf": "# <script>alert(1)</script>\n" + MAIN},
    )  # fmt: skip
    client = login(vera)
    listing = client.get(url("blueprint_list")).content.decode()
    assert "Mine" in listing
    assert "Hello" in listing
    page = client.get(url("blueprint_detail", blueprint.pk)).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert "<textarea" not in page  # read-only
    assert "Upload a new version" not in page  # viewers cannot
    assert login(vera).get(url("blueprint_upload", blueprint.pk)).status_code == 403


def test_bundled_blueprints_cannot_be_replaced_by_an_organization(login, ada, hello_version):
    response = login(ada).get(url("blueprint_upload", hello_version.blueprint_id))
    assert response.status_code == 404  # not the organization's own
    with pytest.raises(blueprint_files.BlueprintError, match="Bundled blueprints"):
        services.blueprint_version_add(blueprint=hello_version.blueprint, files={"main.tf": MAIN},
                                       user=ada)  # fmt: skip


@pytest.mark.parametrize(
    ("policy", "staff", "allowed"),
    [("admins", False, True), ("staff", False, False), ("staff", True, True), ("off", True, False)],
)
def test_blueprint_uploads_follow_the_instance_setting(
    login, ada, org, settings, policy, staff, allowed
):
    settings.BLUEPRINT_UPLOADS = policy
    ada.is_staff = staff
    ada.save()
    client = login(ada)
    listing = client.get(url("blueprint_list")).content.decode()
    assert ('id="new-blueprint"' in listing) is allowed
    response = client.post(url("blueprint_create"), {"name": "N", "paste_main_tf": MAIN})
    assert response.status_code == (302 if allowed else 403)
    assert Blueprint.objects.filter(organization=org).exists() is allowed
    if not allowed:
        assert "upload" in response.content.decode().lower()
        with pytest.raises(PermissionDenied):  # the service refuses too, whoever calls it
            services.blueprint_create(
                organization=org, name="N", description="", files={"main.tf": MAIN}, user=ada
            )


def test_members_never_upload_blueprints(login, bob, org):
    response = login(bob).post(url("blueprint_create"), {"name": "N", "paste_main_tf": MAIN})
    assert response.status_code == 403
    with pytest.raises(PermissionDenied, match="Only admins"):
        services.blueprint_create(
            organization=org, name="N", description="", files={"main.tf": MAIN}, user=bob
        )
    assert not Blueprint.objects.filter(organization=org).exists()


@pytest.mark.parametrize("isolation", ["on", "off"])
def test_admins_are_warned_when_terraform_runs_unisolated(login, ada, bob, settings, isolation):
    settings.TERRAFORM_ISOLATION = isolation
    for user, warned in ((ada, isolation == "off"), (bob, False)):
        page = login(user).get(url("blueprint_list")).content.decode()
        assert ('id="isolation-off"' in page) is warned
