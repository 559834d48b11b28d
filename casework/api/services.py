"""The catalogue of integration services through the API: programmes, services, providers."""

from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy import select

from casework.extensions import db
from casework.policy import requires
from casework.reference.models import Programme, SdgTarget
from casework.services import queries
from casework.services.models import ProviderService
from casework.services.schemas import ProgrammeSchema

PREFIX = "/services"
blp = Blueprint("api_services", __name__, description="The catalogue of integration services")
SECURITY = [{"bearerAuth": []}]


def _names(row) -> dict:
    return {"name_fr": row.name_fr, "name_en": row.name_en, "name_ar": row.name_ar}


def _offer(offer: ProviderService) -> dict:
    return {
        "id": offer.organisation_id,
        "name": offer.organisation.name,
        "regions": list(offer.region_codes or []),
        "capacity": offer.capacity,
    }


def catalogue_entries() -> list[dict]:
    """The strategy's programmes, their SDG targets and active services, and who offers each."""
    offers = queries.offers_by_service()
    targets = {target.code: target for target in db.session.scalars(select(SdgTarget))}
    programmes: list[Programme] = queries.catalogue()
    return [
        {
            "code": programme.code,
            "number": programme.number,
            "kind": programme.kind,
            **_names(programme),
            "sdg_targets": [
                {"code": code, **_names(targets[code])}
                for code in programme.sdg_targets or []
                if code in targets
            ],
            "services": [
                {
                    "code": service.code,
                    **_names(service),
                    "providers": [_offer(offer) for offer in offers.get(service.code, [])],
                }
                for service in programme.services
                if service.active
            ],
        }
        for programme in programmes
    ]


@blp.route("")
@requires("catalogue.view")
@blp.response(200, ProgrammeSchema(many=True))
@blp.doc(security=SECURITY)
def list_services():
    """The catalogue: each programme's services and the providers offering them, where, and
    with how many open places. `providers[].id` is the `provider_id` of a referral."""
    return catalogue_entries()
