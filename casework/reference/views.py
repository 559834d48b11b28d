"""Reference data pages: geography, operations and their categories, programmes."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from casework.extensions import db
from casework.policy import requires
from casework.reference.models import LegacyRegion, Operation, Programme, Region, SdgTarget

bp = Blueprint("reference", __name__, url_prefix="/reference")


@bp.route("")
@requires("reference.view")
def overview():
    return render_template(
        "reference/overview.html",
        regions=db.session.scalars(select(Region).order_by(Region.code)).all(),
        legacy_regions=db.session.scalars(select(LegacyRegion).order_by(LegacyRegion.code)).all(),
        operations=db.session.scalars(select(Operation).order_by(Operation.opens_on)).all(),
    )


@bp.route("/programmes")
@requires("reference.view")
def programmes():
    targets = {t.code: t for t in db.session.scalars(select(SdgTarget))}
    return render_template(
        "reference/programmes.html",
        programmes=db.session.scalars(select(Programme).order_by(Programme.number)).all(),
        targets=targets,
    )
