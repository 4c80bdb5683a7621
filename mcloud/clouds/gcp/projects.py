"""The projects under a GCP organization or folder, for discovery (Resource Manager v3).

The connection names where to look (`GcpCredentials.project_parent`: "organizations/123" or
"folders/456"). The folders below it are walked with ListFolders (GCP nests folders at most
ten deep), and each level's projects are found with SearchProjects (`parent:<name>`), which
answers only the projects the service account may read: those are the ones it can sync. A
project being deleted (DELETE_REQUESTED) is listed as inactive, so that discovery retires it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from google.cloud import resourcemanager_v3

from mcloud.clouds.base import CloudError, Member
from mcloud.clouds.gcp.errors import translate_errors
from mcloud.clouds.records import clean_text

if TYPE_CHECKING:
    from mcloud.clouds.gcp.adapter import GcpAdapter

MAX_DEPTH = 10  # folders below an organization, as GCP allows
MAX_FOLDERS = 2000  # a bound on the walk, far above real trees
_ACTIVE = "ACTIVE"


def organization_projects(adapter: GcpAdapter) -> list[Member]:
    """Every project the service account can see under the connection's organization or
    folder, each with its folder path ("Prod / Web"), sorted by name."""
    root = adapter.credentials.project_parent
    if not root.startswith(("organizations/", "folders/")):
        raise CloudError(
            "Name the organization or folder to discover projects in "
            "(organizations/123 or folders/456)",
            permanent=True,
            code="NoParent",
        )
    places = _folders(adapter, root)
    projects = adapter.resource_manager(resourcemanager_v3.ProjectsClient)
    members: dict[str, Member] = {}
    with translate_errors(f"search the projects under {root}"):
        for parent, path in places.items():
            request = resourcemanager_v3.SearchProjectsRequest(query=f"parent:{parent}")
            for project in projects.search_projects(request=request, **adapter.call_options()):
                member_id = clean_text(project.project_id, 64)
                if not member_id:
                    continue
                state = resourcemanager_v3.Project.State(project.state).name
                members[member_id] = Member(
                    member_id=member_id,
                    name=clean_text(project.display_name, 100) or member_id,
                    path=path,
                    active=state == _ACTIVE,
                )
    return sorted(members.values(), key=lambda m: (m.name.lower(), m.member_id))


def _folders(adapter: GcpAdapter, root: str) -> dict[str, str]:
    """{folder or root name: its path of folder names below the root}, the root first."""
    client = adapter.resource_manager(resourcemanager_v3.FoldersClient)
    places = {root: ""}
    level = [root]
    with translate_errors(f"list the folders under {root}"):
        for _ in range(MAX_DEPTH):
            below: list[str] = []
            for parent in level:
                request = resourcemanager_v3.ListFoldersRequest(parent=parent)
                for folder in client.list_folders(request=request, **adapter.call_options()):
                    name = clean_text(folder.name, 64)
                    if not name or name in places or len(places) >= MAX_FOLDERS:
                        continue
                    label = clean_text(folder.display_name, 64) or name
                    places[name] = f"{places[parent]} / {label}" if places[parent] else label
                    below.append(name)
            if not below:
                break
            level = below
    return places
