"""The search palette (`/` or Ctrl-K on every page): what matches a few typed letters among
the organization's resources, cloud accounts, deployments, blueprints and people.

Each app registers the kinds it owns (`register_search_kind`, in its `AppConfig.ready()`), as
it registers activity sources and audit targets, so accounts imports no app above it. A kind
answers with one bounded query or two, each served by an index: resources through the
trigram search index (inventory migration 0006), the other kinds through their organization's
index, over tables that hold one organization's tens or thousands of rows. A keystroke costs
the same few queries whatever the number of resources. Every kind reads its own
organization's rows only, and a kind is left out for roles below its `min_role`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q
from django.urls import reverse

from accounts.models import Membership, Organization
from accounts.roles import Role

MAX_QUERY = 100  # characters; a longer text is cut, never refused
HITS_PER_KIND = 6
MEMBERS_RANKED = 500  # matching members ranked for the best few (a bound, not a page)


@dataclass(frozen=True)
class SearchHit:
    """One result: what it is called, a line that tells it apart, and where it opens."""

    title: str
    detail: str
    url: str


# (organization, text, at most this many) -> the best hits first
Finder = Callable[[Organization, str, int], list[SearchHit]]


@dataclass(frozen=True)
class SearchKind:
    key: str  # "resources"
    label: str  # "Resources", the group's heading
    icon: str  # a Bootstrap icon name
    order: int  # groups show in this order
    find: Finder
    min_length: int = 1  # shorter texts do not search this kind (a trigram index needs 3)
    min_role: Role = Role.VIEWER
    # The list page that shows every match of this kind for `?q=<text>` (resources: the
    # inventory), offered after its hits.
    list_url_name: str = ""


@dataclass(frozen=True)
class SearchGroup:
    kind: SearchKind
    hits: list[SearchHit]
    more_url: str  # "" when the kind has no list page to search


@dataclass(frozen=True)
class SearchAnswer:
    text: str
    groups: list[SearchGroup]
    too_short: list[SearchKind]  # kinds the text was too short for

    @property
    def empty(self) -> bool:
        return not any(g.hits for g in self.groups)


_KINDS: dict[str, SearchKind] = {}


def register_search_kind(kind: SearchKind) -> None:
    _KINDS[kind.key] = kind


def search_kinds() -> list[SearchKind]:
    return sorted(_KINDS.values(), key=lambda k: k.order)


def search_text_clean(raw: str) -> str:
    """The text as searched: spaces at either end dropped and runs of them inside collapsed,
    NUL characters (which PostgreSQL refuses in text) dropped, at most MAX_QUERY characters."""
    return " ".join(raw.replace("\x00", "").split())[:MAX_QUERY]


def palette_search(
    *, organization: Organization, role: Role, text: str, per_kind: int = HITS_PER_KIND
) -> SearchAnswer:
    """Every kind the role may see, searched for `text` (cleaned) in `organization`: the
    groups that found something, in the kinds' order."""
    text = search_text_clean(text)
    groups: list[SearchGroup] = []
    too_short: list[SearchKind] = []
    if not text:
        return SearchAnswer(text, groups, too_short)
    for kind in search_kinds():
        if not role.allows(kind.min_role):
            continue
        if len(text) < kind.min_length:
            too_short.append(kind)
            continue
        hits = kind.find(organization, text, per_kind)
        if hits:
            more = f"{reverse(kind.list_url_name)}?q=" if kind.list_url_name else ""
            groups.append(SearchGroup(kind, hits[:per_kind], more))
    return SearchAnswer(text, groups, too_short)


def rank(text: str, *names: str) -> tuple[int, int, str]:
    """A sort key for a hit called `names[0]` (other names: ids, e-mail addresses): an exact
    match first, then names that start with the text, then the rest; shorter names first."""
    needle = text.casefold()
    folded = [n.casefold() for n in names if n]
    if needle in folded:
        place = 0
    elif any(n.startswith(needle) for n in folded):
        place = 1
    else:
        place = 2
    first = folded[0] if folded else ""
    return (place, len(first), first)


def member_find(organization: Organization, text: str, limit: int) -> list[SearchHit]:
    """The organization's members whose e-mail address or name holds `text`."""
    rows = (
        Membership.objects.filter(organization=organization)
        .filter(
            Q(user__email__icontains=text)
            | Q(user__first_name__icontains=text)
            | Q(user__last_name__icontains=text)
        )
        .values_list("pk", "role", "user__email", "user__first_name", "user__last_name")
        .order_by("user__email")[:MEMBERS_RANKED]
    )
    # A member list is small: rank every match, then keep the best.
    found = sorted(
        rows,
        key=lambda r: rank(text, f"{r[3]} {r[4]}".strip() or r[2], r[2], r[3], r[4]),
    )
    members = reverse("accounts:member_list")
    hits = []
    for pk, role, email, first, last in found[:limit]:
        name = f"{first} {last}".strip()
        detail = f"{Role(role).label} · {email}" if name else Role(role).label
        hits.append(SearchHit(name or email, detail, f"{members}#member-{pk}"))
    return hits


MEMBERS = SearchKind(key="people", label="People", icon="person", order=50, find=member_find)
