"""The search palette (accounts.search, /search/): resources, cloud accounts, deployments,
blueprints and people of the current organization, grouped by kind, from bounded queries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import search as search_module
from accounts.models import Membership
from accounts.roles import Role
from accounts.search import SearchHit, SearchKind, palette_search, search_text_clean
from inventory.models import CloudAccount, Resource
from inventory.services.ingest import ingest_scope
from mcloud.clouds.base import ResourceRecord
from provisioning.models import Blueprint, Deployment
from tests.conftest import make_user
from tests.inventory import estate
from tests.provisioning.conftest import make_deployment

pytestmark = pytest.mark.django_db
URL = "/search/"
HTMX = {"HX-Request": "true"}


def records(*names: str, region: str = "eu-west-1") -> list[ResourceRecord]:
    return [
        ResourceRecord(resource_id=f"i-{name}", name=name, type="vm", region=region,
                       status="running", created_at=datetime(2026, 1, 1, tzinfo=UTC))
        for name in names
    ]  # fmt: skip


@pytest.fixture
def orion(org, other_org, team, hello_version) -> dict:
    """Something of every kind called "orion" in Acme, and the same in Umbrella."""
    account = estate.account(org, "orion-prod")
    ingest_scope(account=account, scope="eu-west-1", records=records("orion-web", "db-main"))
    deployment = make_deployment(org, team["alice"], hello_version, "orion-app")
    blueprint = Blueprint.objects.create(organization=org, slug="orion-net", name="Orion network")
    person = make_user("orion.jones@acme.test")
    membership = Membership.objects.create(organization=org, user=person, role=Role.VIEWER)
    theirs = estate.account(other_org, "orion-umbrella")
    ingest_scope(account=theirs, scope="eu-west-1", records=records("orion-secret"))
    make_deployment(other_org, team["charlie"], hello_version, "orion-theirs")
    Blueprint.objects.create(organization=other_org, slug="orion-x", name="Orion theirs")
    return {"account": account, "deployment": deployment, "blueprint": blueprint,
            "membership": membership, "theirs": theirs}  # fmt: skip


def titles(answer) -> dict[str, list[str]]:
    return {group.kind.key: [hit.title for hit in group.hits] for group in answer.groups}


def test_it_finds_every_kind_grouped_in_order(orion, org):
    answer = palette_search(organization=org, role=Role.VIEWER, text="  orion ")
    assert answer.text == "orion"
    assert [g.kind.key for g in answer.groups] == [
        "resources", "accounts", "deployments", "blueprints", "people",
    ]  # fmt: skip
    assert titles(answer) == {
        "resources": ["orion-web"],
        "accounts": ["orion-prod"],
        "deployments": ["orion-app"],
        "blueprints": ["Orion network"],
        "people": ["orion.jones@acme.test"],
    }
    resource = Resource.objects.get(name="orion-web")
    hits = {g.kind.key: g.hits[0] for g in answer.groups}
    assert hits["resources"] == SearchHit(
        "orion-web", "Virtual machine · eu-west-1 · orion-prod",
        reverse("inventory:resource_detail", args=[resource.pk]),
    )  # fmt: skip
    assert hits["accounts"].url == reverse("inventory:account_detail", args=[orion["account"].pk])
    assert hits["deployments"].url == reverse(
        "provisioning:deployment_detail", args=[orion["deployment"].pk]
    )
    assert hits["blueprints"].url == reverse(
        "provisioning:blueprint_detail", args=[orion["blueprint"].pk]
    )
    assert hits["people"].url == f"/organization/members/#member-{orion['membership'].pk}"
    assert answer.groups[0].more_url == "/inventory/?q="


def test_it_checks_ownership(orion, org, other_org, team, login):
    """Umbrella's objects never show in Acme's palette, and Acme's never in Umbrella's."""
    ours = palette_search(organization=org, role=Role.OWNER, text="orion")
    shown = " ".join(t for group in titles(ours).values() for t in group)
    assert "umbrella" not in shown
    assert "secret" not in shown
    assert "theirs" not in shown
    html = login(team["charlie"]).get(URL, {"q": "orion"}, headers=HTMX).content.decode()
    assert "orion-secret" in html
    assert "orion-umbrella" in html
    assert "Orion theirs" in html
    for acme in ("orion-web", "orion-prod", "orion-app", "Orion network", "orion.jones"):
        assert acme not in html


def test_it_finds_by_id_email_and_name_of_a_person(orion, org):
    def found(text: str) -> dict[str, list[str]]:
        return titles(palette_search(organization=org, role=Role.VIEWER, text=text))

    assert found("i-db-MAIN")["resources"] == ["db-main"]  # an id, in any case
    person = orion["membership"].user
    person.first_name, person.last_name = "Ada", "Orionsdottir"
    person.save()
    assert found("orionsdot")["people"] == ["Ada Orionsdottir"]
    assert found("ORION.JONES")["people"] == ["Ada Orionsdottir"]
    bundled = Blueprint.objects.get(organization=None, slug="hello")
    assert found("hello")["blueprints"] == [bundled.name]  # the bundled ones are everyone's


def test_deleted_resources_and_excluded_members_are_not_found(org):
    parent = estate.account(org, "root")
    member = CloudAccount.objects.create(organization=org, name="member-1", provider="aws",
                                         parent=parent, member_id="210987654321")  # fmt: skip
    ingest_scope(account=parent, scope="eu-west-1", records=records("lyra-kept", "lyra-gone"))
    ingest_scope(account=member, scope="eu-west-1", records=records("lyra-member"))
    Resource.objects.filter(name="lyra-gone").update(deleted_at=timezone.now())

    def resources() -> list[str]:
        found = titles(palette_search(organization=org, role=Role.VIEWER, text="lyra"))
        return sorted(found.get("resources", []))

    assert resources() == ["lyra-kept", "lyra-member"]
    CloudAccount.objects.filter(pk=member.pk).update(enabled=False)  # an admin excluded it
    assert resources() == ["lyra-kept"]
    # The member account itself is found by its provider id, and says where it sits.
    accounts = palette_search(organization=org, role=Role.VIEWER, text="2109876").groups
    assert [(h.title, h.detail) for h in accounts[0].hits] == [
        ("member-1", "AWS · 210987654321 · in root")
    ]


def test_an_exact_name_comes_first_among_many_matches(org):
    account = estate.account(org, "aws-prod")
    names = [f"web-{n:03d}" for n in range(120)] + ["web"]
    ingest_scope(account=account, scope="eu-west-1", records=records(*names))
    group = palette_search(organization=org, role=Role.VIEWER, text="WEB").groups[0]
    assert next(hit.title for hit in group.hits) == "web"
    assert len(group.hits) == search_module.HITS_PER_KIND
    assert all(hit.title.startswith("web") for hit in group.hits)


def test_resources_need_three_characters_the_others_do_not(orion, org):
    answer = palette_search(organization=org, role=Role.VIEWER, text="or")
    assert [k.key for k in answer.too_short] == ["resources"]
    assert "resources" not in titles(answer)
    assert titles(answer)["accounts"] == ["orion-prod"]
    assert palette_search(organization=org, role=Role.VIEWER, text="   ").groups == []


def test_the_text_is_cleaned_and_cut():
    assert search_text_clean("  a \t b\x00c  ") == "a bc"
    assert len(search_text_clean("x" * 500)) == search_module.MAX_QUERY


def test_a_kind_above_the_role_is_left_out(orion, org, monkeypatch):
    secret = SearchKind(key="secret", label="Secret", icon="lock", order=60, min_role=Role.ADMIN,
                        find=lambda o, t, n: [SearchHit("orion-secret", "", "/x/")])  # fmt: skip
    monkeypatch.setitem(search_module._KINDS, "secret", secret)
    assert "secret" not in titles(palette_search(organization=org, role=Role.MEMBER, text="orion"))
    assert titles(palette_search(organization=org, role=Role.ADMIN, text="orion"))["secret"]


def test_the_palette_gets_a_listbox_fragment_and_a_link_the_full_page(orion, team, login):
    client = login(team["vera"])
    fragment = client.get(URL, {"q": "orion"}, headers=HTMX)
    html = fragment.content.decode()
    assert fragment.status_code == 200
    assert "<html" not in html
    assert 'role="listbox"' in html
    assert html.count('role="option"') == 6  # five hits, and "All resources matching"
    assert 'role="group" aria-labelledby="palette-group-resources"' in html
    assert "/inventory/?q=orion" in html
    page = client.get(URL, {"q": "orion"}).content.decode()
    assert "<html" in page
    assert 'name="q" value="orion"' in page
    assert "orion-web" in page
    assert 'role="option"' not in page  # plain links on a page of their own
    empty = client.get(URL, {"q": "zzzqqq"}, headers=HTMX).content.decode()
    assert "Nothing matches “zzzqqq”." in empty
    assert "Type to search" in client.get(URL, headers=HTMX).content.decode()


def test_every_page_has_the_palette(team, login):
    html = login(team["vera"]).get("/").content.decode()
    assert 'id="palette-input"' in html
    assert 'role="combobox"' in html
    assert 'aria-keyshortcuts="/ Control+K Meta+K"' in html
    assert "js/palette.js" in html


def test_each_keystroke_costs_the_same_few_queries(org, team, login, django_assert_max_num_queries):
    """As many queries with 600 resources, 30 accounts, 20 deployments and people as with a
    handful, whatever the text matches."""
    client = login(team["alice"])
    account = estate.account(org, "res-account")
    estate.fill(account, 6)
    for text in ("res", "res-0001", "zzz", "re"):
        with django_assert_max_num_queries(9):
            assert client.get(URL, {"q": text}, headers=HTMX).status_code == 200
    estate.fill(account, 600, region="us-east-1")
    for n in range(30):
        estate.account(org, f"res-{n}")
    for n in range(20):
        Membership.objects.create(organization=org, user=make_user(f"res{n}@acme.test"))
    for text in ("res", "res-0001", "zzz", "re"):
        with django_assert_max_num_queries(9):
            assert client.get(URL, {"q": text}, headers=HTMX).status_code == 200


def test_the_api_answers_the_same_as_json(orion, team, token_for, client):
    answer = client.get(
        "/api/search",
        {"q": "orion"},
        headers={"Authorization": f"Bearer {token_for(team['vera'])}"},
    ).json()
    assert answer["query"] == "orion"
    assert [g["kind"] for g in answer["groups"]] == [
        "resources", "accounts", "deployments", "blueprints", "people",
    ]  # fmt: skip
    assert answer["groups"][0]["hits"][0]["title"] == "orion-web"
    assert answer["too_short"] == []
    charlie = token_for(team["charlie"])
    theirs = client.get(
        "/api/search", {"q": "orion"}, headers={"Authorization": f"Bearer {charlie}"}
    )
    assert "orion-web" not in theirs.content.decode()
    assert client.get("/api/search", {"q": "orion"}).status_code == 401


def test_deployments_archived_come_last(org, team, hello_version):
    old = make_deployment(org, team["alice"], hello_version, "vega-a")
    make_deployment(org, team["alice"], hello_version, "vega-b")
    Deployment.objects.filter(pk=old.pk).update(archived_at=timezone.now())
    hits = palette_search(organization=org, role=Role.VIEWER, text="vega").groups[0].hits
    assert [(h.title, h.detail.split(" · ")[-1]) for h in hits] == [
        ("vega-b", "Not applied yet"), ("vega-a", "archived"),
    ]  # fmt: skip
