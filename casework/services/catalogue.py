"""Managing the service catalogue and providers' offers. Operations flush; callers commit."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from casework.admin.models import Organisation, OrganisationKind
from casework.audit.operations import record
from casework.auth.models import User
from casework.extensions import db
from casework.reference.models import Programme, Region, Service
from casework.services.models import ProviderService
from casework.services.operations import ServiceError

# Organisations that can offer services: partner NGOs and public services.
PROVIDER_KINDS = (OrganisationKind.NGO.value, OrganisationKind.PUBLIC_SERVICE.value)


def provider_organisations() -> list[Organisation]:
    query = (
        select(Organisation)
        .where(Organisation.kind.in_(PROVIDER_KINDS))
        .order_by(Organisation.name)
    )
    return list(db.session.scalars(query))


def offers_of(organisation: Organisation) -> list[ProviderService]:
    query = (
        select(ProviderService)
        .join(Service, Service.code == ProviderService.service_code)
        .join(Programme, Programme.code == Service.programme_code)
        .where(ProviderService.organisation_id == organisation.id)
        .order_by(Programme.number, Service.position)
    )
    return list(db.session.scalars(query))


def _names(values: dict[str, Any]) -> tuple[dict[str, str], dict[str, list[str]]]:
    names = {k: (values.get(k) or "").strip() for k in ("name_fr", "name_en", "name_ar")}
    errors = {k: [str(_l("This field is required."))] for k, v in names.items() if not v}
    return names, errors


def add_service(programme: Programme, code: str, values: dict[str, Any], *, by: User) -> Service:
    names, errors = _names(values)
    if db.session.get(Service, code) is not None:
        errors["code"] = [str(_l("A service with this code already exists."))]
    if errors:
        raise ServiceError(errors)
    last = db.session.scalar(
        select(func.max(Service.position)).where(Service.programme_code == programme.code)
    )
    service = Service(
        code=code,
        programme_code=programme.code,
        position=(last if last is not None else -1) + 1,
        active=bool(values.get("active", True)),
        **names,
    )
    db.session.add(service)
    db.session.flush()
    record("catalogue.service_add", user=by, record_type="services", code=code,
           programme=programme.code)  # fmt: skip
    return service


def update_service(service: Service, values: dict[str, Any], *, by: User) -> list[str]:
    names, errors = _names(values)
    if errors:
        raise ServiceError(errors)
    wanted = {**names, "active": bool(values.get("active"))}
    changed = sorted(k for k, v in wanted.items() if getattr(service, k) != v)
    for key in changed:
        setattr(service, key, wanted[key])
    if changed:
        db.session.flush()
        record("catalogue.service_update", user=by, record_type="services", code=service.code,
               fields=changed)  # fmt: skip
    return changed


def _offer_values(values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    regions = list(dict.fromkeys(values.get("region_codes") or []))
    known = set(db.session.scalars(select(Region.code)))
    if any(code not in known for code in regions):
        errors["region_codes"] = [str(_l("Unknown region."))]
    capacity = values.get("capacity")
    if capacity is not None and (not isinstance(capacity, int) or capacity < 0):
        errors["capacity"] = [str(_l("Give a whole number, zero or more."))]
    if errors:
        raise ServiceError(errors)
    return {
        "region_codes": sorted(regions),
        "capacity": capacity,
        "active": bool(values.get("active")),
    }


def add_offer(
    organisation: Organisation, service_code: str, values: dict[str, Any], *, by: User
) -> ProviderService:
    service = db.session.get(Service, service_code) if service_code else None
    errors: dict[str, list[str]] = {}
    if service is None:
        errors["service_code"] = [str(_l("Unknown service."))]
    elif db.session.scalar(
        select(ProviderService.id).where(
            ProviderService.organisation_id == organisation.id,
            ProviderService.service_code == service_code,
        )
    ):
        errors["service_code"] = [str(_l("This organisation already offers this service."))]
    if errors:
        raise ServiceError(errors)
    offer = ProviderService(
        organisation_id=organisation.id, service_code=service_code, **_offer_values(values)
    )
    db.session.add(offer)
    db.session.flush()
    record("catalogue.offer_add", user=by, record=offer, organisation_id=organisation.id,
           service=service_code)  # fmt: skip
    return offer


def update_offer(offer: ProviderService, values: dict[str, Any], *, by: User) -> list[str]:
    wanted = _offer_values(values)
    changed = sorted(k for k, v in wanted.items() if getattr(offer, k) != v)
    for key in changed:
        setattr(offer, key, wanted[key])
    if changed:
        db.session.flush()
        record("catalogue.offer_update", user=by, record=offer, fields=changed)
    return changed
