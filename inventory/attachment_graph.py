"""The resource page's small graph of attachments, laid out on the server and drawn as inline
SVG by the template (no script, nothing fetched): the resource in the middle, what attaches
here on the left, what it is attached to on the right, one line from each to the middle.
Only the first MAX_PER_SIDE of a side are drawn, then one "+N more" box; the lists under the
graph have them all (up to their own limit)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.urls import reverse

from inventory.attachments import Attachments
from inventory.models import Resource
from mcloud.clouds.records import last_segment

MAX_PER_SIDE = 8
WIDTH = 720
BOX_W, BOX_H = 180, 34
ROW = 44  # vertical distance between boxes
PAD = 12
LABEL_CHARS = 24


@dataclass(frozen=True)
class Node:
    x: int  # top-left corner
    y: int
    label: str
    detail: str  # the kind, or "not in the inventory"
    url: str = ""
    role: str = "other"  # "self", "other", "missing", "more"
    deleted: bool = False

    @property
    def text_x(self) -> int:
        return self.x + 10

    @property
    def mid_y(self) -> int:
        return self.y + BOX_H // 2


@dataclass(frozen=True)
class Edge:
    x1: int
    y1: int
    x2: int
    y2: int


@dataclass
class Graph:
    width: int
    height: int
    box_w: int = BOX_W
    box_h: int = BOX_H
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _node(x: int, y: int, resource: Resource | None, target_id: str = "") -> Node:
    if resource is None:
        return Node(x, y, _short(last_segment(target_id)), "not in the inventory", role="missing")
    return Node(
        x, y, _short(resource.name or last_segment(resource.resource_id)),
        resource.get_type_display(), reverse("inventory:resource_detail", args=[resource.pk]),
        deleted=resource.deleted_at is not None,
    )  # fmt: skip


def _column(
    x: int, top: int, items: Sequence[tuple[Resource | None, str]], more: str
) -> list[Node]:
    nodes = [_node(x, top + i * ROW, r, target) for i, (r, target) in enumerate(items)]
    if more:
        nodes.append(Node(x, top + len(items) * ROW, f"+{more} more", "listed below", role="more"))
    return nodes


def attachment_graph(resource: Resource, attachments: Attachments) -> Graph | None:
    """The graph's boxes and lines, or None when the resource has no attachments."""
    if not attachments:
        return None
    here = [(r, "") for r in attachments.attached_here]
    to = [(a.resource, a.target_id) for a in attachments.attached_to]
    # "+N more": those beyond the graph's limit, and beyond the page's ("+N+" when uncounted).
    extra_here = max(len(here) - MAX_PER_SIDE, 0)
    more_here = f"{extra_here}{'+' if attachments.more_here else ''}" if extra_here else ""
    extra_to = max(len(to) - MAX_PER_SIDE, 0) + attachments.more_to
    more_to = str(extra_to) if extra_to else ""
    here, to = here[:MAX_PER_SIDE], to[:MAX_PER_SIDE]
    left_count, right_count = len(here) + bool(more_here), len(to) + bool(more_to)
    rows = max(left_count, right_count, 1)
    height = rows * ROW - (ROW - BOX_H) + 2 * PAD
    left, middle, right = PAD, (WIDTH - BOX_W) // 2, WIDTH - BOX_W - PAD

    def top(count: int) -> int:  # a shorter column is centred
        return PAD + (rows - count) * ROW // 2

    centre = Node(middle, top(1), _short(resource.name), resource.get_type_display(), role="self",
                  deleted=resource.deleted_at is not None)  # fmt: skip
    left_nodes = _column(left, top(left_count), here, more_here)
    right_nodes = _column(right, top(right_count), to, more_to)
    graph = Graph(width=WIDTH, height=height, nodes=[centre, *left_nodes, *right_nodes])
    graph.edges = [Edge(n.x + BOX_W, n.mid_y, middle, centre.mid_y) for n in left_nodes] + [
        Edge(middle + BOX_W, centre.mid_y, n.x, n.mid_y) for n in right_nodes
    ]
    return graph
