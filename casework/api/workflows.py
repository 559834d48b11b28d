"""The workflow tables as data, for clients that draw their own buttons or diagrams."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from casework.cases.workflows import WORKFLOWS
from casework.policy import requires

PREFIX = "/workflows"
blp = Blueprint("api_workflows", __name__, description="The case workflows, as tables")


class TransitionSchema(Schema):
    state = fields.String()
    action = fields.String()
    to = fields.String()
    roles = fields.List(fields.String())
    requires = fields.List(fields.String())
    when = fields.String(allow_none=True)
    starts = fields.String(allow_none=True)
    stops = fields.String(allow_none=True)
    four_eyes = fields.Boolean()


class WorkflowSchema(Schema):
    kind = fields.String()
    initial = fields.String()
    states = fields.List(fields.String())
    transitions = fields.List(fields.Nested(TransitionSchema))


@blp.route("")
@requires("workflow.view")
@blp.response(200, WorkflowSchema(many=True))
@blp.doc(security=[{"bearerAuth": []}])
def list_workflows():
    """Every kind of case with its states and transitions."""
    return [
        {
            "kind": w.kind.value,
            "initial": w.initial.value,
            "states": [s.value for s in w.states],
            "transitions": [
                {
                    "state": t.state.value,
                    "action": t.action,
                    "to": t.to.value,
                    "roles": sorted(r.value for r in t.roles),
                    "requires": list(t.requires),
                    "when": t.when,
                    "starts": t.starts.value if t.starts else None,
                    "stops": t.stops.value if t.stops else None,
                    "four_eyes": t.four_eyes,
                }
                for t in w.transitions
            ],
        }
        for w in WORKFLOWS.values()
    ]
