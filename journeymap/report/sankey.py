"""A small Sankey layout for customer paths, drawn as inline SVG (no library, no script).

Columns are path steps: node "n. event" sits in column n. A path that ends after step n
flows into an "ordered" or "dropped off" node in column n + 1; paths longer than the shown
steps, or cut at the warehouse's path length (mart_path_transitions' "continues"), flow into a
"more steps" node: they go on, they did not drop off. Small events of a column are merged
into "other events" so each column stays readable.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from journeymap.report.fmt import count, esc, event_label, pct

CONVERTED = "converted"
DROPPED = "dropped off"
MORE = "more steps"
CONTINUES = "continues"  # mart_path_transitions: the path is longer than var max_path_steps
OTHER = "other events"
TERMINAL_LABELS = {CONVERTED: "ordered", DROPPED: "dropped off", MORE: "more steps"}


@dataclass
class Node:
    column: int
    event: str
    kind: str  # event | other | converted | dropped | more
    value: float = 0.0
    x: float = 0.0
    y: float = 0.0
    height: float = 0.0
    incoming: list[Link] = field(default_factory=list)
    outgoing: list[Link] = field(default_factory=list)

    @property
    def key(self) -> tuple[int, str]:
        return (self.column, self.event)

    @property
    def label(self) -> str:
        if self.kind in ("converted", "dropped", "more"):
            return TERMINAL_LABELS[self.event]
        return event_label(self.event)


@dataclass
class Link:
    source: Node
    target: Node
    value: float
    source_y: float = 0.0
    target_y: float = 0.0
    width: float = 0.0


@dataclass
class SankeyLayout:
    nodes: list[Node]
    links: list[Link]
    columns: int
    width: float
    height: float
    total_paths: float
    top: float


def _terminal_kind(event: str) -> str:
    return {CONVERTED: "converted", DROPPED: "dropped", MORE: "more", CONTINUES: "more"}.get(
        event, "event"
    )


def layout_sankey(
    transitions: list[dict[str, Any]],
    max_steps: int = 6,
    max_nodes_per_column: int = 6,
    width: float = 1200,
    height: float = 440,
    node_width: float = 12,
    node_gap: float = 12,
    top: float = 30,
    label_room: float = 120,
    event_rank: dict[str, int] | None = None,
    min_link_share: float = 0.0,
) -> SankeyLayout:
    """Lay out path transitions (rows of mart_path_transitions for one grain) in step columns.

    With ``event_rank`` (e.g. the journey stage order of each event) every column stacks its
    events in that order, so the same kind of step sits at the same height in every column
    and progress reads top to bottom; without it, events follow their sources (fewer
    crossings). Flows thinner than ``min_link_share`` of all paths are not drawn (their
    customers still count in the nodes).
    """
    raw: dict[tuple[tuple[int, str], tuple[int, str]], float] = defaultdict(float)
    for row in transitions:
        step = int(row["step_index"])
        if step > max_steps or not row.get("paths"):
            continue
        source = (step, str(row["from_event"]))
        if row.get("is_path_end"):
            to_event = str(row["to_event"])
            target = (step + 1, MORE if to_event == CONTINUES else to_event)
        elif step == max_steps:
            target = (step + 1, MORE)
        else:
            target = (step + 1, str(row["to_event"]))
        raw[(source, target)] += float(row["paths"])
    if not raw:
        return SankeyLayout([], [], 0, width, height, 0, top)

    # Node values: what flows in (column 1: what flows out).
    value: dict[tuple[int, str], float] = defaultdict(float)
    for (source, target), paths in raw.items():
        value[target] += paths
        if source[0] == 1:
            value[source] += paths

    # Keep the biggest events of each column; merge the rest into "other events".
    rename: dict[tuple[int, str], tuple[int, str]] = {}
    by_column: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for key in value:
        if _terminal_kind(key[1]) == "event":
            by_column[key[0]].append(key)
    for column, keys in by_column.items():
        keys.sort(key=lambda k: (-value[k], k[1]))
        for key in keys[max_nodes_per_column:]:
            rename[key] = (column, OTHER)

    nodes: dict[tuple[int, str], Node] = {}

    def node(key: tuple[int, str]) -> Node:
        key = rename.get(key, key)
        if key not in nodes:
            kind = "other" if key[1] == OTHER else _terminal_kind(key[1])
            nodes[key] = Node(column=key[0], event=key[1], kind=kind)
        return nodes[key]

    merged: dict[tuple[tuple[int, str], tuple[int, str]], Link] = {}
    for (source_key, target_key), paths in sorted(raw.items()):
        source, target = node(source_key), node(target_key)
        link = merged.get((source.key, target.key))
        if link is None:
            link = Link(source, target, 0.0)
            merged[(source.key, target.key)] = link
            source.outgoing.append(link)
            target.incoming.append(link)
        link.value += paths
    for n in nodes.values():
        n.value = max(
            sum(link.value for link in n.incoming), sum(link.value for link in n.outgoing)
        )

    columns = max(n.column for n in nodes.values())
    column_nodes: dict[int, list[Node]] = defaultdict(list)
    for n in nodes.values():
        column_nodes[n.column].append(n)
    total_paths = sum(n.value for n in column_nodes[1])

    usable = height - top - 4
    scale = min(
        (usable - node_gap * (len(col) - 1)) / sum(n.value for n in col)
        for col in column_nodes.values()
        if sum(n.value for n in col) > 0
    )
    step_x = (width - label_room - node_width) / max(columns - 1, 1)
    rank = {"event": 0, "other": 1, "more": 2, "converted": 3, "dropped": 4}
    for column in range(1, columns + 1):
        col = column_nodes.get(column, [])
        if event_rank is not None:
            col.sort(key=lambda n: (rank[n.kind], event_rank.get(n.event, 99), -n.value, n.event))
        elif column == 1:
            col.sort(key=lambda n: (rank[n.kind], -n.value, n.event))
        else:
            # Barycentre of the sources keeps flows from crossing; merged and end nodes go last.
            def centre(n: Node) -> float:
                weight = sum(link.value for link in n.incoming) or 1.0
                return (
                    sum(
                        (link.source.y + link.source.height / 2) * link.value for link in n.incoming
                    )
                    / weight
                )

            col.sort(key=lambda n: (rank[n.kind], centre(n), -n.value, n.event))
        y = top
        for n in col:
            n.x = (column - 1) * step_x
            n.y = y
            n.height = max(n.value * scale, 1.0)
            y += n.height + node_gap

    for n in nodes.values():
        offset = n.y
        for link in sorted(n.outgoing, key=lambda lk: (lk.target.y, lk.target.event)):
            link.width = max(link.value * scale, 0.5)
            link.source_y = offset + link.value * scale / 2
            offset += link.value * scale
        offset = n.y
        for link in sorted(n.incoming, key=lambda lk: (lk.source.y, lk.source.event)):
            link.target_y = offset + link.value * scale / 2
            offset += link.value * scale

    ordered_nodes = sorted(nodes.values(), key=lambda n: (n.column, n.y))
    shown = [lk for lk in merged.values() if lk.value >= min_link_share * total_paths]
    links = sorted(shown, key=lambda lk: -lk.value)
    return SankeyLayout(ordered_nodes, links, columns, width, height, total_paths, top)


def render_sankey_svg(
    layout: SankeyLayout,
    colour_of: dict[str, str],
    node_width: float = 12,
    title: str = "Customer paths",
    description: str = "",
) -> str:
    """The layout as an inline SVG with a <title> on every node and flow for hover detail."""
    if not layout.nodes:
        return ""
    parts = [
        f'<svg class="sankey" viewBox="0 0 {layout.width:.0f} {layout.height:.0f}" '
        f'role="img" aria-labelledby="sankey-title sankey-desc" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="sankey-title">{esc(title)}</title>',
        f'<desc id="sankey-desc">{esc(description)}</desc>',
    ]
    step_x = layout.width
    xs = sorted({n.x for n in layout.nodes})
    if len(xs) > 1:
        step_x = xs[1] - xs[0]
    for column in range(1, layout.columns + 1):
        x = (column - 1) * step_x
        heading = f"Step {column}" if column < layout.columns else "Then"
        parts.append(f'<text class="sankey-col" x="{x:.1f}" y="14">{esc(heading)}</text>')
    total = layout.total_paths or 1.0
    ids = {id(n): f"n{i}" for i, n in enumerate(layout.nodes)}
    parts.append('<g class="sankey-links">')
    for link in layout.links:
        x0 = link.source.x + node_width
        x1 = link.target.x
        xm = (x0 + x1) / 2
        kind = link.target.kind if link.target.kind in ("converted", "dropped") else "flow"
        colour = (
            colour_of.get(link.source.event, "#8a94a6") if kind == "flow" else colour_of.get(kind)
        )
        tip = (
            f"{link.source.label} → {link.target.label}: {count(link.value)} customers "
            f"({pct(link.value / total, 1)} of all paths)"
        )
        parts.append(
            f'<path class="sankey-link sankey-link-{kind}" '
            f'data-s="{ids[id(link.source)]}" data-t="{ids[id(link.target)]}" '
            f'd="M{x0:.1f},{link.source_y:.1f} C{xm:.1f},{link.source_y:.1f} '
            f'{xm:.1f},{link.target_y:.1f} {x1:.1f},{link.target_y:.1f}" '
            f'stroke="{esc(colour)}" stroke-width="{link.width:.2f}">'
            f"<title>{esc(tip)}</title></path>"
        )
    parts.append("</g>")
    parts.append('<g class="sankey-nodes">')
    for n in layout.nodes:
        colour = colour_of.get(n.event) if n.kind in ("event",) else colour_of.get(n.kind)
        colour = colour or "#8a94a6"
        if n.kind in ("converted", "dropped", "more"):
            tip = f"After step {n.column - 1}: {count(n.value)} customers {n.label}"
        else:
            tip = f"Step {n.column}: {n.label}, {count(n.value)} customers"
        tip += f" ({pct(n.value / total, 1)} of all paths)"
        parts.append(
            f'<g class="sankey-node sankey-node-{n.kind}" data-id="{ids[id(n)]}">'
            f'<rect x="{n.x:.1f}" y="{n.y:.1f}" width="{node_width}" height="{n.height:.1f}" '
            f'fill="{esc(colour)}"><title>{esc(tip)}</title></rect>'
        )
        if n.height >= 9:
            parts.append(
                f'<text x="{n.x + node_width + 5:.1f}" y="{n.y + n.height / 2:.1f}" '
                f'dominant-baseline="middle">{esc(n.label)} '
                f'<tspan class="sankey-count">{esc(count(n.value))}</tspan>'
                f"<title>{esc(tip)}</title></text>"
            )
        parts.append("</g>")
    parts.append("</g></svg>")
    return "".join(parts)
