"""The GCP fake's Resource Manager v3: SearchProjects and ListFolders through the real
google-cloud-resource-manager client, and their wire shape and paging."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from google.api_core import exceptions as api
from google.auth.transport.requests import Request as AuthRequest
from google.cloud import resourcemanager_v3
from google.oauth2 import service_account

from emulators.gcp import GcpFake

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
ORG = "organizations/77"


@pytest.fixture
def fake(gcp_server: GcpFake) -> GcpFake:
    gcp_server.reset()
    prod = gcp_server.add_folder("1", "Prod", ORG)
    for n in range(5):
        gcp_server.place_project(f"acme-p{n}", prod if n % 2 else ORG, labels={"n": str(n)})
    return gcp_server


@pytest.fixture
def key(fake: GcpFake) -> dict[str, Any]:
    return fake.add_service_account("acme-p0", projects=[f"acme-p{n}" for n in range(4)])


def _client(fake: GcpFake, key: dict[str, Any], kind: type) -> Any:
    credentials = service_account.Credentials.from_service_account_info(key, scopes=SCOPES)
    return kind(credentials=credentials, transport="rest",
                client_options={"api_endpoint": fake.url})  # fmt: skip


def _get(fake: GcpFake, key: dict[str, Any], path: str) -> requests.Response:
    credentials = service_account.Credentials.from_service_account_info(key, scopes=SCOPES)
    credentials.refresh(AuthRequest())
    return requests.get(f"{fake.url}{path}", timeout=10,
                        headers={"Authorization": f"Bearer {credentials.token}"})  # fmt: skip


def test_search_finds_the_readable_projects_a_query_names_page_by_page(fake, key):
    fake.page_size = 1
    projects = _client(fake, key, resourcemanager_v3.ProjectsClient)
    under_org = projects.search_projects(query=f"parent:{ORG}")
    assert sorted(p.project_id for p in under_org) == ["acme-p0", "acme-p2"]  # p4: unreadable
    everything = projects.search_projects(request={})
    assert len(list(everything)) == 4
    typed = projects.search_projects(query="parent.type:folder parent.id:1 state:ACTIVE")
    assert sorted(p.project_id for p in typed) == ["acme-p1", "acme-p3"]
    with pytest.raises(api.BadRequest):
        list(projects.search_projects(query="owner:me"))


def test_folders_are_listed_under_their_parent(fake, key):
    fake.add_folder("2", "Web", "folders/1")
    folders = _client(fake, key, resourcemanager_v3.FoldersClient)
    assert [f.display_name for f in folders.list_folders(parent=ORG)] == ["Prod"]
    assert [f.name for f in folders.list_folders(parent="folders/1")] == ["folders/2"]


def test_the_wire_shape_and_page_tokens(fake, key):
    fake.page_size = 2
    first = _get(fake, key, "/v3/projects:search?query=").json()
    assert set(first) == {"projects", "nextPageToken"}
    project = first["projects"][0]
    assert set(project) >= {"name", "parent", "projectId", "state", "displayName", "createTime",
                            "updateTime", "etag", "labels"}  # fmt: skip
    assert project["name"] == f"projects/{fake.add_project(project['projectId'])['id']}"
    token = first["nextPageToken"]
    second = _get(fake, key, f"/v3/projects:search?pageToken={token}").json()
    assert "nextPageToken" not in second
    assert len(second["projects"]) == 2
    other = _get(fake, key, f"/v3/projects:search?query=state:ACTIVE&pageToken={token}")
    assert (other.status_code, other.json()["error"]["status"]) == (400, "INVALID_ARGUMENT")
    assert _get(fake, key, "/v3/folders").status_code == 400  # a parent is required
