"""The workflow diagram, drawn as SVG by the server from the workflow table (no script)."""

from __future__ import annotations

from collections import defaultdict
from html import escape

from casework.cases.workflows import Workflow, action_label, state_label

BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 170, 44, 70, 26, 20


def _levels(workflow: Workflow) -> dict[str, int]:
    """Each state's column: its distance from the initial state (breadth first)."""
    level = {workflow.initial.value: 0}
    frontier = [workflow.initial.value]
    while frontier:
        following = []
        for state in frontier:
            for t in workflow.from_state(state):
                if t.to.value not in level:
                    level[t.to.value] = level[state] + 1
                    following.append(t.to.value)
        frontier = following
    for state in workflow.states:
        level.setdefault(state.value, max(level.values()) + 1)
    return level


def workflow_svg(workflow: Workflow) -> str:
    """An SVG of the states (boxes, in columns by distance from the start) and transitions."""
    level = _levels(workflow)
    columns: dict[int, list[str]] = defaultdict(list)
    for state in workflow.states:
        columns[level[state.value]].append(state.value)
    position = {}
    for column, states in columns.items():
        for row, state in enumerate(states):
            x = MARGIN + column * (BOX_W + GAP_X)
            y = MARGIN + row * (BOX_H + GAP_Y)
            position[state] = (x, y)
    width = MARGIN * 2 + (max(columns) + 1) * (BOX_W + GAP_X)
    height = MARGIN * 2 + max(len(s) for s in columns.values()) * (BOX_H + GAP_Y)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="workflow-diagram" role="img" aria-labelledby="wf-{workflow.kind.value}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'class="wf-arrowhead"/></marker></defs>',
    ]
    seen_edges = set()
    for t in workflow.transitions:
        edge = (t.state.value, t.to.value)
        if edge in seen_edges:
            continue
        seen_edges.add(edge)
        (x1, y1), (x2, y2) = position[t.state.value], position[t.to.value]
        start = (x1 + BOX_W, y1 + BOX_H / 2) if x2 > x1 else (x1, y1 + BOX_H / 2)
        end = (x2, y2 + BOX_H / 2) if x2 > x1 else (x2 + BOX_W, y2 + BOX_H / 2)
        if edge[0] == edge[1]:
            continue
        label = escape(action_label(t.action))
        parts.append(
            f'<line x1="{start[0]:.0f}" y1="{start[1]:.0f}" x2="{end[0]:.0f}" y2="{end[1]:.0f}" '
            f'class="wf-edge" marker-end="url(#arrow)"><title>{label}</title></line>'
        )
    for state, (x, y) in position.items():
        final = state in {s.value for s in workflow.final_states}
        css = "wf-state wf-final" if final else "wf-state"
        if state == workflow.initial.value:
            css += " wf-initial"
        parts.append(
            f'<g class="{css}"><rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8"/>'
            f'<text x="{x + BOX_W / 2:.0f}" y="{y + BOX_H / 2 + 5:.0f}" text-anchor="middle">'
            f"{escape(state_label(state))}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)
