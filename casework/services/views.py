"""Service pages: the catalogue, referrals, the NGO workspace (inbox, assistance, distributions,
walk-ins). Load inside the caller's scope, check, call the operation, render."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from casework.admin.models import Organisation, OrganisationKind
from casework.conflicts import EditConflict, parse_version
from casework.extensions import db
from casework.pagination import BadCursor, page_by_id_desc
from casework.people import operations as people_operations
from casework.people.forms import PersonForm
from casework.people.models import Person
from casework.people.views import get_person_or_404, new_person
from casework.policy import Role, can, requires
from casework.reference.models import Programme, Region, SdgTarget, Service
from casework.services import catalogue as catalogue_ops
from casework.services import operations, panels, queries
from casework.services.forms import (
    AssistanceForm,
    ChooseServiceForm,
    DistributionForm,
    NewOfferForm,
    NewServiceForm,
    OfferForm,
    ReferralActionForm,
    ReferralForm,
    ServiceForm,
    ShareConsentForm,
    grouped_service_choices,
)
from casework.services.models import (
    URGENCY_LABELS,
    AssistanceRecord,
    ConsentScope,
    ProviderService,
    Referral,
    ReferralState,
)
from casework.services.referral_flow import (
    ASSISTANCE_STATES,
    REFERRAL_ACTION_LABELS,
    REFERRAL_ACTIONS,
    steps_from,
)

bp = Blueprint("services", __name__)

CONFLICT_MESSAGE = _l(
    "Someone else acted on this referral while you were reading it. Nothing was changed: "
    "check its current state and act again."
)

# Inbox tabs -> the referral states they list.
INBOX_TABS = {
    "new": (ReferralState.SENT,),
    "accepted": (ReferralState.ACCEPTED,),
    "in_progress": (ReferralState.IN_PROGRESS,),
    "closed": panels.CLOSED_REFERRAL_STATES,
}
AGENCY_OFFICE_KINDS = (
    OrganisationKind.FOREIGNERS_OFFICE.value,
    OrganisationKind.ASYLUM_OFFICE.value,
)


def get_referral_or_404(referral_id: int) -> Referral:
    """A referral outside the caller's scope answers as if it did not exist."""
    referral = db.session.scalar(
        queries.visible_referrals(current_user).where(Referral.id == referral_id)
    )
    if referral is None:
        abort(404)
    return referral


def get_assistance_or_404(record_id: int) -> AssistanceRecord:
    record = db.session.scalar(
        queries.visible_assistance(current_user).where(AssistanceRecord.id == record_id)
    )
    if record is None:
        abort(404)
    return record


def get_provider_or_404(organisation_id: int) -> Organisation:
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None or organisation.kind not in catalogue_ops.PROVIDER_KINDS:
        abort(404)
    return organisation


def show_errors(form, errors: dict[str, list[str]], fields: dict[str, str]) -> list[str]:
    """Put each message of a ServiceError next to its field; return those that fit none."""
    general = []
    for key, messages in errors.items():
        field = getattr(form, fields.get(key, key), None)
        if field is None or not hasattr(field, "errors"):
            general.extend(messages)
        else:
            field.errors = [*field.errors, *messages]
    return general


def _region_names() -> dict[str, str]:
    return {r.code: r.name for r in db.session.scalars(select(Region))}


@bp.app_context_processor
def service_labels() -> dict:
    def urgency_label(code: str) -> str:
        return str(URGENCY_LABELS.get(code, code))

    def referral_action_label(action: str) -> str:
        return str(REFERRAL_ACTION_LABELS.get(action, action))

    return {
        "urgency_label": urgency_label,
        "referral_action_label": referral_action_label,
        "event_label": panels.event_label,
        "consent_scope_label": panels.consent_scope_label,
    }


# --- The catalogue --------------------------------------------------------------------------


@bp.route("/services")
@requires("catalogue.view")
def catalogue():
    return render_template(
        "services/catalogue.html",
        programmes=queries.catalogue(),
        targets={t.code: t for t in db.session.scalars(select(SdgTarget))},
        offers=queries.offers_by_service(),
        regions=_region_names(),
        manage=can(current_user, "catalogue.manage"),
    )


@bp.route("/services/new", methods=["GET", "POST"])
@requires("catalogue.manage")
def new_service():
    form = NewServiceForm()
    if request.method == "GET" and request.args.get("programme"):
        form.programme_code.data = request.args["programme"]
    if form.validate_on_submit():
        programme = db.session.get(Programme, form.programme_code.data) or abort(400)
        values = {**form.names(), "active": form.active.data}
        try:
            service = catalogue_ops.add_service(programme, form.code.data, values, by=current_user)
        except operations.ServiceError as error:
            db.session.rollback()
            show_errors(form, error.errors, {})
        else:
            db.session.commit()
            flash(_("Service %(name)s added.", name=service.name), "success")
            return redirect(url_for("services.catalogue", _anchor=f"programme-{programme.code}"))
    return render_template("services/service_form.html", form=form, service=None)


@bp.route("/services/<service_code>/edit", methods=["GET", "POST"])
@requires("catalogue.manage")
def edit_service(service_code: str):
    service = db.session.get(Service, service_code) or abort(404)
    form = ServiceForm(obj=service)
    if form.validate_on_submit():
        values = {**form.names(), "active": form.active.data}
        try:
            changed = catalogue_ops.update_service(service, values, by=current_user)
        except operations.ServiceError as error:
            db.session.rollback()
            show_errors(form, error.errors, {})
        else:
            db.session.commit()
            flash(_("Saved.") if changed else _("Nothing changed."),
                  "success" if changed else "info")  # fmt: skip
            return redirect(
                url_for("services.catalogue", _anchor=f"programme-{service.programme_code}")
            )
    return render_template("services/service_form.html", form=form, service=service)


@bp.route("/services/providers")
@requires("catalogue.manage")
def providers():
    organisations = catalogue_ops.provider_organisations()
    counts = dict(
        db.session.execute(
            select(ProviderService.organisation_id, func.count())
            .where(ProviderService.active.is_(True))
            .group_by(ProviderService.organisation_id)
        ).all()
    )
    return render_template("services/providers.html", organisations=organisations, counts=counts)


@bp.route("/services/providers/<int:organisation_id>", methods=["GET", "POST"])
@requires("catalogue.manage")
def provider(organisation_id: int):
    organisation = get_provider_or_404(organisation_id)
    form = NewOfferForm()
    status = 200
    if form.validate_on_submit():
        values = {
            "region_codes": form.region_codes.data,
            "capacity": form.capacity.data,
            "active": form.active.data,
        }
        try:
            catalogue_ops.add_offer(organisation, form.service_code.data, values, by=current_user)
        except operations.ServiceError as error:
            db.session.rollback()
            show_errors(form, error.errors, {})
            status = 422
        else:
            db.session.commit()
            flash(_("Offer added."), "success")
            return redirect(url_for("services.provider", organisation_id=organisation.id))
    elif form.errors:
        status = 422
    return render_template(
        "services/provider.html",
        organisation=organisation,
        offers=catalogue_ops.offers_of(organisation),
        form=form,
        regions=_region_names(),
    ), status


@bp.route(
    "/services/providers/<int:organisation_id>/offers/<service_code>", methods=["GET", "POST"]
)
@requires("catalogue.manage")
def edit_offer(organisation_id: int, service_code: str):
    organisation = get_provider_or_404(organisation_id)
    offer = db.session.scalar(
        select(ProviderService).where(
            ProviderService.organisation_id == organisation.id,
            ProviderService.service_code == service_code,
        )
    )
    if offer is None:
        abort(404)
    form = OfferForm(obj=offer)
    if form.validate_on_submit():
        values = {
            "region_codes": form.region_codes.data,
            "capacity": form.capacity.data,
            "active": form.active.data,
        }
        try:
            changed = catalogue_ops.update_offer(offer, values, by=current_user)
        except operations.ServiceError as error:
            db.session.rollback()
            show_errors(form, error.errors, {})
        else:
            db.session.commit()
            flash(_("Saved.") if changed else _("Nothing changed."),
                  "success" if changed else "info")  # fmt: skip
            return redirect(url_for("services.provider", organisation_id=organisation.id))
    return render_template(
        "services/offer_form.html", form=form, organisation=organisation, offer=offer
    )


# --- Referring a person ---------------------------------------------------------------------


def _referral_providers(service: Service) -> list[ProviderService]:
    """The organisations that offer `service`, other than the caller's own."""
    return [
        offer
        for offer in queries.providers_of(service.code)
        if offer.organisation_id != current_user.organisation_id
    ]


def _provider_label(offer: ProviderService, regions: dict[str, str]) -> str:
    covered = ", ".join(regions.get(code, code) for code in offer.region_codes or [])
    label = offer.organisation.name
    if covered:
        label += f" — {covered}"
    if offer.capacity is not None:
        label += " — " + _("%(n)s open places", n=offer.capacity)
    return label


@bp.route("/people/<int:person_id>/referrals/new", methods=["GET", "POST"])
@requires("referral.send")
def refer(person_id: int):
    person = get_person_or_404(person_id)
    code = request.args.get("service") or ""
    service = db.session.get(Service, code) if code else None
    if service is None or not service.active:
        chooser = ChooseServiceForm(request.args if code else None)
        if code:
            chooser.service.errors = [_("Unknown service.")]
        return render_template("services/refer_choose.html", person=person, chooser=chooser)
    offers = _referral_providers(service)
    regions = _region_names()
    form = ReferralForm()
    form.provider_id.choices = [(0, "—")] + [
        (offer.organisation_id, _provider_label(offer, regions)) for offer in offers
    ]
    form.set_vulnerabilities(person.vulnerability_codes)
    household = person.membership.household if person.membership else None
    general: list[str] = []
    status = 200
    if form.validate_on_submit():
        provider = db.session.get(Organisation, form.provider_id.data or 0)
        try:
            referral = operations.send_referral(
                person,
                service_code=service.code,
                provider=provider,
                purpose=form.purpose.data,
                urgency=form.urgency.data,
                due_date=form.due_date.data,
                consent=form.consent_values(),
                by=current_user,
                include_household=bool(household and form.include_household.data),
            )
        except operations.ServiceError as error:
            db.session.rollback()
            general = show_errors(form, error.errors, ReferralForm.ERROR_FIELDS)
            status = 422
        else:
            db.session.commit()
            flash(_("Referral sent to %(provider)s.", provider=provider.name), "success")
            return redirect(url_for("services.referral", referral_id=referral.id))
    elif request.method == "POST":
        status = 422
    return render_template(
        "services/refer.html",
        person=person,
        service=service,
        form=form,
        offers=offers,
        household=household,
        general=general,
    ), status


# --- A referral -----------------------------------------------------------------------------


def _referral_page(
    referral: Referral,
    forms: dict | None = None,
    status: int = 200,
    general: list[str] | None = None,
):
    forms = forms or {}
    allowed = []
    if can(current_user, "referral.act"):
        allowed = operations.referral_allowed_actions(referral, current_user)
    requirements = {step.action: step.requires for step in steps_from(referral.state)}
    action_forms = {}
    for action in allowed:
        form = forms.get(action) or ReferralActionForm(prefix=action)
        form.version.data = referral.version
        action_forms[action] = form
    is_provider = referral.provider_id == current_user.organisation_id
    assistance_form = None
    if (
        is_provider
        and can(current_user, "assistance.record")
        and referral.state in {s.value for s in ASSISTANCE_STATES}
    ):
        assistance_form = forms.get("assistance") or AssistanceForm(
            formdata=None, service_code=referral.service_code
        )
    records = list(
        db.session.scalars(
            queries.visible_assistance(current_user)
            .where(AssistanceRecord.referral_id == referral.id)
            .order_by(AssistanceRecord.given_on.desc(), AssistanceRecord.id.desc())
        )
    )
    card = None
    if panels.shows_card(current_user, referral):
        card = panels.person_card(referral.person, [referral])
    return render_template(
        "services/referral.html",
        referral=referral,
        card=card,
        action_forms=action_forms,
        requirements=requirements,
        assistance_form=assistance_form,
        assistance=records,
        superseded=operations.superseded_ids(records),
        may_correct=is_provider and can(current_user, "assistance.record"),
        general=general or [],
    ), status


@bp.route("/referrals/<int:referral_id>")
@requires("referral.view")
def referral(referral_id: int):
    referral = get_referral_or_404(referral_id)
    if panels.shows_card(current_user, referral):
        people_operations.record_view(referral.person, by=current_user, channel="referral")
        db.session.commit()
    return _referral_page(referral)


@bp.route("/referrals/<int:referral_id>/actions/<action>", methods=["POST"])
@requires("referral.act")
def act(referral_id: int, action: str):
    referral = get_referral_or_404(referral_id)
    if action not in REFERRAL_ACTIONS:
        abort(404)
    form = ReferralActionForm(prefix=action)
    if not form.validate_on_submit():
        return _referral_page(referral, {action: form}, 422)
    try:
        operations.act_on_referral(
            referral,
            action,
            by=current_user,
            expected_version=parse_version(form.version.data),
            reason=form.reason.data,
            outcome=form.outcome.data,
        )
        db.session.commit()
    except operations.ReferralActionForbidden:
        db.session.rollback()
        abort(403)
    except operations.ReferralActionNotAvailable:
        db.session.rollback()
        referral = db.session.get(Referral, referral_id)
        flash(_("This action is no longer possible: the referral is now “%(state)s”.",
                state=referral.state_label), "danger")  # fmt: skip
        return _referral_page(referral, status=409)
    except (EditConflict, StaleDataError):
        db.session.rollback()
        flash(str(CONFLICT_MESSAGE), "danger")
        return _referral_page(db.session.get(Referral, referral_id), status=409)
    except operations.ServiceError as error:
        db.session.rollback()
        general = show_errors(form, error.errors, {})
        referral = db.session.get(Referral, referral_id)
        return _referral_page(referral, {action: form}, 422, general)
    flash(_("%(action)s: done.", action=REFERRAL_ACTION_LABELS[action]), "success")
    return redirect(url_for("services.referral", referral_id=referral_id))


@bp.route("/referrals/<int:referral_id>/assistance", methods=["POST"])
@requires("assistance.record")
def record_assistance(referral_id: int):
    referral = get_referral_or_404(referral_id)
    form = AssistanceForm()
    if not form.validate_on_submit():
        return _referral_page(referral, {"assistance": form}, 422)
    try:
        operations.record_assistance(referral, form.values(), by=current_user)
    except operations.ReferralActionForbidden:
        db.session.rollback()
        abort(403)
    except operations.ServiceError as error:
        db.session.rollback()
        general = show_errors(form, error.errors, AssistanceForm.ERROR_FIELDS)
        referral = db.session.get(Referral, referral_id)
        return _referral_page(referral, {"assistance": form}, 422, general)
    db.session.commit()
    flash(_("Assistance recorded."), "success")
    return redirect(url_for("services.referral", referral_id=referral_id, _anchor="assistance"))


@bp.route("/assistance/<int:record_id>/correct", methods=["GET", "POST"])
@requires("assistance.record")
def correct_assistance(record_id: int):
    original = get_assistance_or_404(record_id)
    if original.provider_id != current_user.organisation_id:
        abort(404)
    back = (
        url_for("services.referral", referral_id=original.referral_id, _anchor="assistance")
        if original.referral_id
        else url_for("people.view", person_id=original.person_id)
    )
    correction = db.session.scalar(
        select(AssistanceRecord).where(AssistanceRecord.corrects_id == original.id)
    )
    if correction is not None:
        flash(_("This record was already corrected: correct the latest record instead."),
              "warning")  # fmt: skip
        return render_template(
            "services/correct.html", original=original, form=None, back=back, correction=correction
        ), 409
    if request.method == "GET":
        form = AssistanceForm(
            given_on=original.given_on, service_code=original.service_code,
            quantity=f"{original.quantity.normalize():f}", unit=original.unit,
            place=original.place, outcome=original.outcome, notes=original.notes,
        )  # fmt: skip
    else:
        form = AssistanceForm()
    general: list[str] = []
    if form.validate_on_submit():
        try:
            operations.correct_assistance(original, form.values(), by=current_user)
        except operations.ReferralActionForbidden:
            db.session.rollback()
            abort(404)
        except operations.ServiceError as error:
            db.session.rollback()
            general = show_errors(form, error.errors, AssistanceForm.ERROR_FIELDS)
        else:
            db.session.commit()
            flash(_("Correction recorded; the original record is kept."), "success")
            return redirect(back)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "services/correct.html", original=original, form=form, back=back, general=general
    ), status


# --- The NGO workspace ----------------------------------------------------------------------


@bp.route("/ngo/inbox")
@requires("referral.view")
def inbox():
    tab = request.args.get("tab", "new")
    if tab not in INBOX_TABS:
        tab = "new"
    overdue_only = request.args.get("overdue") == "1"
    states = [s.value for s in INBOX_TABS[tab]]
    query = queries.inbox(current_user, overdue_only=overdue_only).where(Referral.state.in_(states))
    try:
        page = page_by_id_desc(query, Referral.id, request.args.get("cursor"), 50)
    except BadCursor:
        page = page_by_id_desc(query, Referral.id, None, 50)
    by_state = dict(
        db.session.execute(
            queries.inbox(current_user)
            .with_only_columns(Referral.state, func.count())
            .group_by(Referral.state)
        ).all()
    )
    counts = {name: sum(by_state.get(s.value, 0) for s in wanted)
              for name, wanted in INBOX_TABS.items()}  # fmt: skip
    overdue_count = db.session.scalar(
        queries.inbox(current_user, overdue_only=True).with_only_columns(func.count())
    )
    return render_template(
        "services/inbox.html",
        tab=tab,
        tabs={
            "new": pgettext("inbox tab", "New"),
            "accepted": pgettext("inbox tab", "Accepted"),
            "in_progress": pgettext("inbox tab", "In progress"),
            "closed": pgettext("inbox tab", "Closed"),
        },
        counts=counts,
        overdue_only=overdue_only,
        overdue_count=overdue_count,
        page=page,
    )


def _distribution_candidates() -> dict[str, tuple[str, Referral | Person]]:
    """Who may receive a distribution: people with an accepted or ongoing referral to the
    caller's organisation, and its own walk-ins. Key -> (label, target)."""
    candidates: dict[str, tuple[str, Referral | Person]] = {}
    referrals = db.session.scalars(
        queries.inbox(current_user)
        .where(Referral.state.in_([s.value for s in ASSISTANCE_STATES]))
        .order_by(Referral.id)
    )
    for referral in referrals:
        label = f"{referral.person.full_name} — {referral.service.name}"
        candidates[f"r{referral.id}"] = (label, referral)
    walk_ins = db.session.scalars(
        select(Person)
        .where(
            Person.organisation_id == current_user.organisation_id,
            Person.merged_into_id.is_(None),
        )
        .order_by(Person.family_name, Person.given_names)
    )
    walk_in = _("walk-in")
    for person in walk_ins:
        candidates[f"p{person.id}"] = (f"{person.full_name} — {walk_in}", person)
    return candidates


def _stale_target(key: str) -> tuple[str, list[str]]:
    """A ticked person who may no longer receive assistance (the referral moved on meanwhile)."""
    referral = None
    if key.startswith("r") and key[1:].isdigit():
        referral = db.session.scalar(queries.inbox(current_user).where(Referral.id == int(key[1:])))
    if referral is None:
        return _("A person no longer in your list"), [_("Not one of your beneficiaries.")]
    return referral.person.full_name, [
        _("The referral is now “%(state)s”: assistance is recorded on an accepted or ongoing "
          "referral only.", state=referral.state_label)
    ]  # fmt: skip


@bp.route("/ngo/distributions", methods=["GET", "POST"])
@requires("assistance.record")
def distributions():
    candidates = _distribution_candidates()
    form = DistributionForm()
    offered = set(
        db.session.scalars(
            select(ProviderService.service_code).where(
                ProviderService.organisation_id == current_user.organisation_id,
                ProviderService.active.is_(True),
            )
        )
    )
    if offered:  # the services the organisation offers, when it has told which
        form.service_code.choices = grouped_service_choices(offered)
    form.targets.choices = [(key, label) for key, (label, _target) in candidates.items()]
    problems: list[tuple[str, list[str]]] = []
    status = 200
    if form.validate_on_submit():
        keys = list(dict.fromkeys(form.targets.data or []))
        chosen = [candidates[key][1] for key in keys if key in candidates]
        problems = [_stale_target(key) for key in keys if key not in candidates]
        values = form.values()
        field_errors, _clean = operations._assistance_errors(values)
        show_errors(form, field_errors, AssistanceForm.ERROR_FIELDS)
        if not keys:
            form.targets.errors = [_("Choose at least one person.")]
        if keys and not field_errors and not problems:
            try:
                rows = operations.distribute(chosen, values, by=current_user)
            except operations.ServiceError as error:
                db.session.rollback()
                names = {}
                for target in chosen:
                    person = target.person if isinstance(target, Referral) else target
                    names[f"person {person.id}"] = person.full_name
                problems = [(names.get(key, key), messages)
                            for key, messages in error.errors.items()]  # fmt: skip
            else:
                db.session.commit()
                flash(_("%(n)d assistance records made.", n=len(rows)), "success")
                return redirect(url_for("services.distributions"))
        status = 422
    elif request.method == "POST":
        status = 422
    return render_template(
        "services/distributions.html", form=form, problems=problems, candidates=candidates
    ), status


@bp.route("/ngo/beneficiaries/new", methods=["GET", "POST"])
@requires("person.register")
def new_beneficiary():
    if current_user.role != Role.NGO:
        return redirect(url_for("people.register"))
    form = PersonForm().keep_writable(current_user, new_person())
    if form.validate_on_submit():
        try:
            person = people_operations.register_person(form.person_values(), by=current_user)
        except people_operations.PersonError as error:
            db.session.rollback()
            getattr(form, error.field).errors.append(error.message)
        else:
            db.session.commit()
            flash(_("%(name)s is registered.", name=person.full_name), "success")
            return redirect(url_for("people.view", person_id=person.id))
    return render_template("services/beneficiary_form.html", form=form)


@bp.route("/people/<int:person_id>/consents/share", methods=["GET", "POST"])
@requires("consent.record")
def share_consent(person_id: int):
    person = get_person_or_404(person_id)
    if current_user.role != Role.NGO or person.organisation_id != current_user.organisation_id:
        abort(404)
    offices = list(
        db.session.scalars(
            select(Organisation)
            .where(Organisation.kind.in_(AGENCY_OFFICE_KINDS), Organisation.active.is_(True))
            .order_by(Organisation.name)
        )
    )
    form = ShareConsentForm()
    form.office_id.choices = [(office.id, office.name) for office in offices]
    if form.validate_on_submit():
        office = next(o for o in offices if o.id == form.office_id.data)
        try:
            operations.record_consent(
                person,
                scope=ConsentScope.SHARE_WITH_AGENCY,
                purpose=form.purpose.data,
                given_on=form.given_on.data,
                given_to=office,
                by=current_user,
            )
        except operations.ServiceError as error:
            db.session.rollback()
            show_errors(form, error.errors, ShareConsentForm.ERROR_FIELDS)
        else:
            db.session.commit()
            flash(_("Consent recorded."), "success")
            return redirect(url_for("people.view", person_id=person.id, _anchor="services"))
    status = 422 if request.method == "POST" else 200
    return render_template("services/share_consent.html", person=person, form=form), status
