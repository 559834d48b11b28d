"""The right of access (law 09-08, art. 7): everything held about one person, as JSON or PDF.

`collect(person)` gathers, for the person and the records merged into them (the same person):
identity, identity documents, household, files (with their timeline and decision, the scans'
descriptions), referrals, consents, assistance, the person's timeline, the history of
corrections, the purposes of each processing, and the audit entries about their records. It is
everything the system holds about them, whoever recorded it: the right of access covers the
whole of it. Only what is about other people is left out: the other household members appear by
their relationship, never by name, and audit entries name organisations, never staff.

`export(person, fmt, by=..., channel=...)` renders it and audits `person.subject_access` (the
format and channel, no personal data); the caller commits.

The PDF is an official bilingual document, like the letters (`casework.cases.letters`): its
headings and labels live here in French and Arabic, not in the UI translations, and it uses the
letters' font (DejaVu Sans from matplotlib's package, Arabic shaped by HarfBuzz).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from fpdf import FPDF
from fpdf.enums import Align, MethodReturnValue, XPos, YPos
from sqlalchemy import and_, or_, select

from casework.audit.models import AuditEntry
from casework.audit.operations import record
from casework.extensions import db
from casework.models_base import as_utc, utcnow
from casework.people.data_protection import json_value, revisions_of
from casework.people.models import Person
from casework.people.retention import merged_into

FORMATS = ("json", "pdf")
FORMAT_VERSION = 1
JSON_TYPE = "application/json"
PDF_TYPE = "application/pdf"

# Audit actions about a person that name them in their data rather than as the record.
PERSON_ID_ACTIONS = ("household.add_member", "household.remove_member")
# Audit data keys about someone else (a suspected duplicate is another person).
OTHER_PEOPLE_KEYS = ("other_id",)

PERSON_FIELDS = (
    "id", "family_name", "given_names", "family_name_ar", "given_names_ar", "sex",
    "date_of_birth", "date_of_birth_approximate", "nationality", "languages", "phone",
    "address", "prefecture_code", "unaccompanied_minor", "pregnant", "serious_illness",
    "disability", "trafficking_victim", "vulnerability_notes", "external_ref", "created_at",
    "updated_at", "anonymised_at", "merged_into_id",
)  # fmt: skip
CASE_FIELDS = (
    "reference", "kind", "operation_code", "category_code", "state", "filed_on",
    "deadline_on", "deadline_kind", "information_due_on", "proposed_at", "decided_on",
    "notified_on", "appeal_lodged_on", "appeal_decided_on", "interview_on",
    "interpreter_language", "referred_to_bra_on", "card_number", "card_issued_on",
    "card_expires_on", "closed_on", "claim_narrative", "medical_details",
)  # fmt: skip

# The purpose of the registration, by the kind of organisation holding the record (French,
# Arabic): the wording of `casework.people.data_protection.REGISTRATION_PURPOSES`.
REGISTRATION_PURPOSE_TEXT = {
    "agency": (
        "Examen d'un dossier de régularisation ou d'asile",
        "دراسة ملف تسوية الوضعية أو اللجوء",
    ),
    "ngo": (
        "Assistance sociale et humanitaire par l'organisation partenaire",
        "المساعدة الاجتماعية والإنسانية من طرف المنظمة الشريكة",
    ),
}


# --- Gathering ----------------------------------------------------------------------------------


def _values(row: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: json_value(getattr(row, name)) for name in names}


class _Names:
    """Organisation names of users and organisations, loaded once each."""

    def __init__(self) -> None:
        self._orgs: dict[int, str] = {}
        self._users: dict[int, int | None] = {}

    def organisation(self, organisation_id: int | None) -> str | None:
        from casework.admin.models import Organisation

        if organisation_id is None:
            return None
        if organisation_id not in self._orgs:
            org = db.session.get(Organisation, organisation_id)
            self._orgs[organisation_id] = org.name if org else str(organisation_id)
        return self._orgs[organisation_id]

    def of_user(self, user_id: int | None) -> str | None:
        from casework.auth.models import User

        if user_id is None:
            return None
        if user_id not in self._users:
            user = db.session.get(User, user_id)
            self._users[user_id] = user.organisation_id if user else None
        return self.organisation(self._users[user_id])


def _identity(person: Person, names: _Names) -> dict[str, Any]:
    values = _values(person, PERSON_FIELDS)
    values["organisation"] = names.organisation(person.organisation_id)
    return values


def _documents(people: list[Person]) -> list[dict[str, Any]]:
    return [
        {"person_id": p.id, **_values(d, ("kind", "number", "issuing_country", "expires_on"))}
        for p in people
        for d in p.documents
    ]


def _households(people: list[Person]) -> list[dict[str, Any]]:
    rows = []
    for person in people:
        membership = person.membership
        if membership is None:
            continue
        rows.append({
            "household_id": membership.household_id,
            "relationship": membership.relationship_to_head,
            # The other members by their relationship only: their names are their own data.
            "members": [
                {"relationship": m.relationship_to_head, "is_subject": m.person_id == person.id}
                for m in membership.household.members
            ],
        })  # fmt: skip
    return rows


def _cases(ids: list[int], names: _Names) -> list[dict[str, Any]]:
    from casework.cases.models import Case, CaseDocument, CaseEvent, CaseMember

    member_of = select(CaseMember.case_id).where(CaseMember.person_id.in_(ids))
    cases = db.session.scalars(
        select(Case).where(or_(Case.applicant_id.in_(ids), Case.id.in_(member_of)))
        .order_by(Case.filed_on, Case.id)
    )  # fmt: skip
    rows = []
    for case in cases:
        events = db.session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        )
        scans = db.session.scalars(
            select(CaseDocument).where(CaseDocument.case_id == case.id).order_by(CaseDocument.id)
        )
        rows.append({
            **_values(case, CASE_FIELDS),
            "role": "applicant" if case.applicant_id in ids else "member",
            "office": names.organisation(case.office_id),
            "decision": {
                **_values(case, ("proposed_outcome", "proposed_reasons", "decision_text",
                                 "first_instance_outcome", "appeal_outcome")),
            },
            "events": [
                {**_values(e, ("at", "kind", "action", "from_state", "to_state", "comment")),
                 "data": json_value(e.data or {}), "organisation": names.of_user(e.user_id)}
                for e in events
            ],
            "documents": [
                _values(d, ("document_code", "filename", "content_type", "size", "status",
                            "uploaded_at", "verified_at"))
                for d in scans
            ],
        })  # fmt: skip
    return rows


def _referrals(ids: list[int], names: _Names) -> list[dict[str, Any]]:
    from casework.services.models import Referral

    rows = db.session.scalars(
        select(Referral).where(Referral.person_id.in_(ids)).order_by(Referral.id)
    )
    return [
        {**_values(r, ("id", "service_code", "purpose", "urgency", "due_date", "state",
                       "include_household", "decline_reason", "outcome", "created_at",
                       "responded_at", "closed_at", "consent_id")),
         "service": r.service.name_fr, "provider": names.organisation(r.provider_id),
         "sender": names.organisation(r.sender_organisation_id)}
        for r in rows
    ]  # fmt: skip


def _consents(ids: list[int], names: _Names) -> list[dict[str, Any]]:
    from casework.services.models import Consent

    rows = db.session.scalars(
        select(Consent).where(Consent.person_id.in_(ids)).order_by(Consent.given_on, Consent.id)
    )
    return [
        {**_values(c, ("id", "scope", "purpose", "given_on", "shared_vulnerabilities",
                       "recorded_at", "withdrawn_on")),
         "given_to": names.organisation(c.given_to_id)}
        for c in rows
    ]  # fmt: skip


def _assistance(ids: list[int], names: _Names) -> list[dict[str, Any]]:
    from casework.services.models import AssistanceRecord

    rows = db.session.scalars(
        select(AssistanceRecord)
        .where(AssistanceRecord.person_id.in_(ids))
        .order_by(AssistanceRecord.given_on, AssistanceRecord.id)
    )
    return [
        {**_values(a, ("id", "service_code", "given_on", "quantity", "unit", "place",
                       "outcome", "notes", "referral_id", "corrects_id", "recorded_at")),
         "service": a.service.name_fr, "provider": names.organisation(a.provider_id)}
        for a in rows
    ]  # fmt: skip


def _person_events(ids: list[int], names: _Names) -> list[dict[str, Any]]:
    from casework.services.models import PersonEvent

    rows = db.session.scalars(
        select(PersonEvent).where(PersonEvent.person_id.in_(ids)).order_by(PersonEvent.id)
    )
    return [
        {**_values(e, ("at", "kind", "record_type", "record_id")),
         "data": json_value(e.data or {}), "organisation": names.organisation(e.organisation_id)}
        for e in rows
    ]  # fmt: skip


def _corrections(ids: list[int], names: _Names) -> list[dict[str, Any]]:
    return [
        {"person_id": r.person_id, "changed_at": json_value(r.changed_at),
         "organisation": names.of_user(r.changed_by_id), "fields": r.fields}
        for r in reversed(revisions_of(ids))
    ]  # fmt: skip


def _purposes(person: Person, referrals: list[dict[str, Any]], names: _Names) -> list[dict]:
    from casework.admin.models import OrganisationKind

    key = "ngo" if person.organisation.kind == OrganisationKind.NGO.value else "agency"
    french, arabic = REGISTRATION_PURPOSE_TEXT[key]
    rows: list[dict[str, Any]] = [{
        "kind": "registration", "purpose": french, "purpose_ar": arabic,
        "controller": names.organisation(person.organisation_id),
        "since": json_value(person.created_at),
    }]  # fmt: skip
    for referral in referrals:
        rows.append({
            "kind": "referral", "purpose": referral["purpose"], "controller": referral["provider"],
            "since": referral["created_at"], "service": referral["service"],
            "state": referral["state"],
        })  # fmt: skip
    return rows


def _record_ids(model: Any, column: Any, ids: list[int]) -> list[int]:
    return list(db.session.scalars(select(model.id).where(column.in_(ids))))


def _audit(ids: list[int], names: _Names) -> list[dict[str, Any]]:
    """The audit entries about the person's records: the person, their files and the files'
    scans, their referrals, consents and assistance, and household changes naming them."""
    from casework.cases.models import Case, CaseDocument
    from casework.services.models import AssistanceRecord, Consent, Referral

    case_ids = _record_ids(Case, Case.applicant_id, ids)
    scan_ids = _record_ids(CaseDocument, CaseDocument.case_id, case_ids) if case_ids else []
    records = {
        "people": ids,
        "cases": case_ids,
        "case_documents": scan_ids,
        "referrals": _record_ids(Referral, Referral.person_id, ids),
        "consents": _record_ids(Consent, Consent.person_id, ids),
        "assistance_records": _record_ids(AssistanceRecord, AssistanceRecord.person_id, ids),
    }
    conditions = [
        and_(AuditEntry.record_type == table, AuditEntry.record_id.in_(record_ids))
        for table, record_ids in records.items()
        if record_ids
    ]
    conditions.append(
        and_(
            AuditEntry.action.in_(PERSON_ID_ACTIONS),
            AuditEntry.data["person_id"].as_integer().in_(ids),
        )
    )
    entries = db.session.scalars(
        select(AuditEntry).where(or_(*conditions)).order_by(AuditEntry.sequence, AuditEntry.id)
    )
    return [
        {"at": json_value(as_utc(e.at)), "action": e.action, "record_type": e.record_type,
         "record_id": e.record_id, "organisation": names.of_user(e.user_id),
         "data": {k: v for k, v in (e.data or {}).items() if k not in OTHER_PEOPLE_KEYS}}
        for e in entries
    ]  # fmt: skip


def collect(person: Person) -> dict[str, Any]:
    """Everything held about `person` (and the records merged into it), JSON-ready."""
    names = _Names()
    merged = merged_into(person)
    people = [person, *merged]
    ids = [p.id for p in people]
    referrals = _referrals(ids, names)
    return {
        "export": {
            "format_version": FORMAT_VERSION,
            "generated_at": json_value(utcnow()),
            "person_id": person.id,
            "controller": names.organisation(person.organisation_id),
            "law": "09-08",
        },
        "identity": _identity(person, names),
        "merged_records": [_identity(p, names) for p in merged],
        "documents": _documents(people),
        "households": _households(people),
        "cases": _cases(ids, names),
        "referrals": referrals,
        "consents": _consents(ids, names),
        "assistance": _assistance(ids, names),
        "person_events": _person_events(ids, names),
        "corrections": _corrections(ids, names),
        "purposes": _purposes(person, referrals, names),
        "audit": _audit(ids, names),
    }


# --- Rendering ----------------------------------------------------------------------------------


def to_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")


# (French, Arabic) of the headings and labels; a key missing here is printed as it is.
TEXT: dict[str, tuple[str, str]] = {
    "title": (
        "Communication des données personnelles (loi 09-08, droit d'accès)",
        # "09.08", as Moroccan texts write it in Arabic (and the bidi algorithm keeps it whole).
        "تبليغ المعطيات ذات الطابع الشخصي (القانون رقم 09.08، حق الولوج)",
    ),
    "intro": (
        "Ce document reprend toutes les données que Casework détient sur la personne ci-dessous.",
        "تتضمن هذه الوثيقة جميع المعطيات التي يحتفظ بها النظام بشأن الشخص المذكور أدناه.",
    ),
    "none": ("Aucune donnée.", "لا توجد معطيات."),
    "yes": ("oui", "نعم"),
    "no": ("non", "لا"),
    "changed": ("modifié (texte non conservé)", "عُدِّل (لا يُحتفظ بالنص)"),
    # Sections
    "export": ("Document", "الوثيقة"),
    "identity": ("Identité", "الهوية"),
    "merged_records": ("Fiches fusionnées avec celle-ci", "السجلات المدمجة في هذا السجل"),
    "documents": ("Documents d'identité", "وثائق الهوية"),
    "households": ("Ménage", "الأسرة"),
    "cases": ("Dossiers", "الملفات"),
    "events": ("Chronologie du dossier", "مراحل الملف"),
    "decision": ("Décision", "القرار"),
    "case_documents": ("Pièces du dossier", "وثائق الملف"),
    "referrals": ("Orientations vers des services", "الإحالات إلى الخدمات"),
    "consents": ("Consentements", "الموافقات"),
    "assistance": ("Assistance reçue", "المساعدات المقدمة"),
    "person_events": ("Historique de la personne", "السجل الزمني للشخص"),
    "corrections": ("Historique des rectifications", "سجل التصحيحات"),
    "purposes": ("Finalités des traitements", "أغراض المعالجة"),
    "audit": ("Journal d'audit des fiches", "سجل تتبع العمليات على السجلات"),
    # Labels
    "format_version": ("Version du format", "إصدار الصيغة"),
    "generated_at": ("Établi le", "حرر في"),
    "person_id": ("Personne n°", "رقم الشخص"),
    "controller": ("Responsable du traitement", "المسؤول عن المعالجة"),
    "law": ("Loi", "القانون"),
    "id": ("N°", "الرقم"),
    "family_name": ("Nom", "الاسم العائلي"),
    "given_names": ("Prénoms", "الاسم الشخصي"),
    "family_name_ar": ("Nom (écriture arabe)", "الاسم العائلي بالعربية"),
    "given_names_ar": ("Prénoms (écriture arabe)", "الاسم الشخصي بالعربية"),
    "sex": ("Sexe", "الجنس"),
    "date_of_birth": ("Date de naissance", "تاريخ الازدياد"),
    "date_of_birth_approximate": ("Date de naissance approximative", "تاريخ ازدياد تقريبي"),
    "nationality": ("Nationalité", "الجنسية"),
    "languages": ("Langues parlées", "اللغات المتحدث بها"),
    "phone": ("Téléphone", "الهاتف"),
    "address": ("Adresse", "العنوان"),
    "prefecture_code": ("Préfecture ou province", "العمالة أو الإقليم"),
    "unaccompanied_minor": ("Mineur non accompagné", "قاصر غير مصحوب"),
    "pregnant": ("Grossesse", "حمل"),
    "serious_illness": ("Maladie grave", "مرض خطير"),
    "disability": ("Handicap", "إعاقة"),
    "trafficking_victim": ("Victime de traite", "ضحية الاتجار بالبشر"),
    "vulnerability_notes": ("Notes sur la vulnérabilité", "ملاحظات حول الهشاشة"),
    "external_ref": ("Référence du registre", "مرجع السجل"),
    "organisation": ("Organisme", "الهيئة"),
    "created_at": ("Enregistré le", "تاريخ التسجيل"),
    "updated_at": ("Modifié le", "تاريخ آخر تعديل"),
    "anonymised_at": ("Anonymisé le", "تاريخ إخفاء الهوية"),
    "merged_into_id": ("Fusionnée dans la fiche n°", "مدمج في السجل رقم"),
    "kind": ("Nature", "النوع"),
    "number": ("Numéro", "الرقم"),
    "issuing_country": ("Pays de délivrance", "بلد الإصدار"),
    "expires_on": ("Expire le", "تاريخ انتهاء الصلاحية"),
    "household_id": ("Ménage n°", "رقم الأسرة"),
    "relationship": ("Lien avec le chef de ménage", "صلة القرابة برب الأسرة"),
    "members": ("Membres", "الأفراد"),
    "is_subject": ("La personne elle-même", "الشخص المعني"),
    "reference": ("Référence", "المرجع"),
    "role": ("Qualité", "الصفة"),
    "operation_code": ("Opération", "العملية"),
    "category_code": ("Catégorie", "الفئة"),
    "office": ("Bureau", "المكتب"),
    "state": ("État", "الحالة"),
    "filed_on": ("Date de dépôt", "تاريخ الإيداع"),
    "deadline_on": ("Échéance", "الأجل"),
    "deadline_kind": ("Nature de l'échéance", "نوع الأجل"),
    "information_due_on": ("Informations attendues le", "أجل تقديم المعلومات"),
    "proposed_at": ("Décision proposée le", "تاريخ اقتراح القرار"),
    "decided_on": ("Date de la décision", "تاريخ القرار"),
    "notified_on": ("Notifiée le", "تاريخ التبليغ"),
    "appeal_lodged_on": ("Recours formé le", "تاريخ تقديم الطعن"),
    "appeal_decided_on": ("Recours jugé le", "تاريخ البت في الطعن"),
    "interview_on": ("Entretien le", "تاريخ المقابلة"),
    "interpreter_language": ("Langue de l'interprète", "لغة الترجمة"),
    "referred_to_bra_on": ("Transmis au BRA le", "تاريخ الإحالة على مكتب اللاجئين"),
    "card_number": ("Numéro de carte", "رقم البطاقة"),
    "card_issued_on": ("Carte délivrée le", "تاريخ تسليم البطاقة"),
    "card_expires_on": ("Carte valable jusqu'au", "صلاحية البطاقة إلى غاية"),
    "closed_on": ("Clôturé le", "تاريخ الإغلاق"),
    "proposed_outcome": ("Décision proposée", "القرار المقترح"),
    "proposed_reasons": ("Motifs", "الأسباب"),
    "decision_text": ("Texte de la décision", "نص القرار"),
    "claim_narrative": ("Récit de la demande d'asile", "رواية طلب اللجوء"),
    "medical_details": ("Informations médicales", "المعلومات الطبية"),
    "first_instance_outcome": ("Décision en première instance", "القرار الابتدائي"),
    "appeal_outcome": ("Décision sur recours", "القرار بعد الطعن"),
    "at": ("Date", "التاريخ"),
    "action": ("Action", "الإجراء"),
    "from_state": ("État précédent", "الحالة السابقة"),
    "to_state": ("Nouvel état", "الحالة الجديدة"),
    "comment": ("Commentaire", "تعليق"),
    "data": ("Détails", "تفاصيل"),
    "document_code": ("Pièce", "الوثيقة"),
    "filename": ("Fichier", "الملف"),
    "content_type": ("Type", "النوع"),
    "size": ("Taille (octets)", "الحجم (بايت)"),
    "status": ("Vérification", "التحقق"),
    "uploaded_at": ("Déposée le", "تاريخ الإيداع"),
    "verified_at": ("Vérifiée le", "تاريخ التحقق"),
    "service_code": ("Code du service", "رمز الخدمة"),
    "service": ("Service", "الخدمة"),
    "provider": ("Prestataire", "مقدم الخدمة"),
    "sender": ("Orienté par", "الجهة المحيلة"),
    "purpose": ("Finalité", "الغرض"),
    "purpose_ar": ("Finalité (arabe)", "الغرض بالعربية"),
    "urgency": ("Urgence", "درجة الاستعجال"),
    "due_date": ("À traiter avant le", "أجل المعالجة"),
    "include_household": ("Ménage inclus", "تشمل الأسرة"),
    "decline_reason": ("Motif du refus", "سبب الرفض"),
    "outcome": ("Résultat", "النتيجة"),
    "responded_at": ("Réponse le", "تاريخ الرد"),
    "closed_at": ("Clôturée le", "تاريخ الإغلاق"),
    "consent_id": ("Consentement n°", "رقم الموافقة"),
    "scope": ("Objet", "موضوع الموافقة"),
    "given_on": ("Date", "التاريخ"),
    "given_to": ("Donné à", "الجهة المستفيدة"),
    "shared_vulnerabilities": ("Vulnérabilités partagées", "حالات الهشاشة المتقاسمة"),
    "recorded_at": ("Enregistré le", "تاريخ التسجيل"),
    "withdrawn_on": ("Retiré le", "تاريخ السحب"),
    "quantity": ("Quantité", "الكمية"),
    "unit": ("Unité", "الوحدة"),
    "place": ("Lieu", "المكان"),
    "notes": ("Notes", "ملاحظات"),
    "referral_id": ("Orientation n°", "رقم الإحالة"),
    "corrects_id": ("Corrige l'enregistrement n°", "يصحح السجل رقم"),
    "record_type": ("Fiche", "نوع السجل"),
    "record_id": ("Fiche n°", "رقم السجل"),
    "changed_at": ("Date", "التاريخ"),
    "fields": ("Champs (ancienne → nouvelle valeur)", "الحقول (القيمة السابقة ← الجديدة)"),
    "since": ("Depuis le", "منذ"),
}

SECTIONS = (
    "identity", "merged_records", "documents", "households", "cases", "referrals", "consents",
    "assistance", "person_events", "corrections", "purposes", "audit",
)  # fmt: skip
COMPACT_SECTIONS = ("person_events", "audit")  # one row per line of a long history
FONT_SIZE = 8.5
LINE = 4.4
BLUE = (29, 78, 137)


ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _text(value: Any) -> str:
    """A value as the PDF prints it: days and moments (UTC) the French way, lists and
    mappings on one line each, yes/no in both languages."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return " / ".join(TEXT["yes" if value else "no"])
    if isinstance(value, str) and ISO_DAY.match(value):
        return date.fromisoformat(value).strftime("%d/%m/%Y")
    if isinstance(value, str) and ISO_MOMENT.match(value):
        moment = as_utc(datetime.fromisoformat(value)).astimezone(UTC)
        return moment.strftime("%d/%m/%Y %H:%M UTC")
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_text(item)}" for key, item in value.items())
    if isinstance(value, list) and any(isinstance(item, dict) for item in value):
        return "\n".join(_text(item) for item in value)
    if isinstance(value, list):
        return ", ".join(_text(item) for item in value)
    return str(value)


def _label(key: str) -> str:
    french, arabic = TEXT.get(key, (key, ""))
    return f"{french} · {arabic}" if arabic else french


@dataclass
class _Columns:
    label: float
    value: float


class _ExportPdf(FPDF):
    """A4 pages: bilingual headings (French left, Arabic right), then label / value rows."""

    def __init__(self, title: str) -> None:
        from casework.cases.letters import FONT_FAMILY, FONT_FILES, font_directory

        super().__init__(format="A4", unit="mm")
        self.family = FONT_FAMILY
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=15)
        directory = font_directory()
        for style, name in FONT_FILES.items():
            self.add_font(FONT_FAMILY, style, directory / name)
        self.set_text_shaping(True)
        self.set_title(title)
        self.set_lang("fr")
        self.set_creator("Casework")
        self.alias_nb_pages()
        self.add_page()
        self.columns = _Columns(label=self.epw * 0.42, value=self.epw * 0.58)

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font(self.family, "", 7)
        self.set_text_color(120, 120, 120)
        self.cell(0, 5, f"{self.page_no()}/{{nb}}", align=Align.C)
        self.set_text_color(0, 0, 0)

    def heading(self, key: str, size: float = 12, level: int = 1) -> None:
        french, arabic = TEXT[key]
        if self.y > self.h - self.b_margin - 20:
            self.add_page()
        self.ln(3 if level == 1 else 1.5)
        self.set_text_color(*BLUE)
        self.set_font(self.family, "B", size)
        top = self.y
        half = (self.epw - 6) / 2
        self.set_xy(self.l_margin, top)
        self.multi_cell(half, size * 0.5, french, align=Align.L, new_x=XPos.LMARGIN)
        bottom = self.y
        self.set_xy(self.l_margin + half + 6, top)
        self.multi_cell(half, size * 0.5, arabic, align=Align.R, new_x=XPos.LMARGIN)
        self.set_y(max(bottom, self.y))
        if level == 1:
            self.set_draw_color(*BLUE)
            self.set_line_width(0.3)
            self.line(self.l_margin, self.y + 0.5, self.l_margin + self.epw, self.y + 0.5)
            self.ln(2)
        self.set_text_color(0, 0, 0)

    def _lines(self, width: float, text: str) -> int:
        return len(self.multi_cell(width, LINE, text, dry_run=True, output=MethodReturnValue.LINES))

    def row(self, key: str, value: Any) -> None:
        """`label · التسمية | value`; a row starts on a new page rather than being cut."""
        label, text = _label(key), _text(value)
        self.set_font(self.family, "", FONT_SIZE)
        height = LINE * max(self._lines(self.columns.label, label),
                            self._lines(self.columns.value, text))  # fmt: skip
        if self.y + height > self.page_break_trigger and height < self.eph:
            self.add_page()
        top, page = self.y, self.page
        self.set_font(self.family, "", FONT_SIZE - 1)
        self.set_text_color(90, 90, 90)
        self.multi_cell(self.columns.label, LINE, label, align=Align.L, new_x=XPos.LMARGIN)
        label_bottom = self.y
        self.set_text_color(0, 0, 0)
        self.set_font(self.family, "", FONT_SIZE)
        self.set_xy(self.l_margin + self.columns.label, top)
        self.multi_cell(self.columns.value, LINE, text, align=Align.L, new_x=XPos.LMARGIN)
        if self.page == page:
            self.set_y(max(label_bottom, self.y))

    def mapping(self, values: dict[str, Any], skip: tuple[str, ...] = ()) -> None:
        for key, value in values.items():
            if key not in skip:
                self.row(key, value)

    def separator(self) -> None:
        self.ln(1)
        self.set_draw_color(200, 200, 200)
        self.set_line_width(0.1)
        self.line(self.l_margin, self.y, self.l_margin + self.epw, self.y)
        self.ln(1.5)

    def empty(self) -> None:
        self.set_font(self.family, "", FONT_SIZE)
        self.set_text_color(110, 110, 110)
        self.multi_cell(0, LINE, " · ".join(TEXT["none"]), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)


def _case_section(pdf: _ExportPdf, case: dict[str, Any]) -> None:
    pdf.mapping(case, skip=("decision", "events", "documents"))
    pdf.heading("decision", size=9.5, level=2)
    pdf.mapping(case["decision"])
    pdf.heading("events", size=9.5, level=2)
    for event in case["events"]:
        summary = " · ".join(str(event[key]) for key in ("kind", "action") if event.get(key))
        if event.get("to_state"):
            summary += f" · {event.get('from_state') or '—'} → {event['to_state']}"
        details = [summary]
        if event.get("comment"):
            details.append(event["comment"])
        if event.get("data"):
            details.append(_text(event["data"]))
        if event.get("organisation"):
            details.append(event["organisation"])
        pdf.row("at", f"{_text(event['at'])}\n" + "\n".join(details))
    if not case["events"]:
        pdf.empty()
    pdf.heading("case_documents", size=9.5, level=2)
    for document in case["documents"]:
        parts = (document["document_code"], document["filename"], document["status"])
        pdf.row("document_code", " · ".join([*parts, _text(document["uploaded_at"])]))
    if not case["documents"]:
        pdf.empty()


def _compact_row(pdf: _ExportPdf, item: dict[str, Any]) -> None:
    """One line per audit entry or timeline event: when, then what, on which record, by whom."""
    what = [item.get("action") or item.get("kind")]
    if item.get("record_type"):
        what.append(f"{item['record_type']} {item.get('record_id') or ''}".strip())
    if item.get("organisation"):
        what.append(item["organisation"])
    if item.get("data"):
        what.append(_text(item["data"]))
    pdf.row("at", f"{_text(item['at'])}\n" + " · ".join(str(part) for part in what if part))


def to_pdf(data: dict[str, Any]) -> bytes:
    person_id = data["export"]["person_id"]
    pdf = _ExportPdf(f"Droit d'accès — personne {person_id}")
    pdf.set_text_color(*BLUE)
    pdf.set_font(pdf.family, "B", 14)
    french, arabic = TEXT["title"]
    pdf.multi_cell(0, 7, french, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.multi_cell(0, 8, arabic, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(pdf.family, "", 9)
    for text, align in zip(TEXT["intro"], (Align.L, Align.R), strict=True):
        pdf.multi_cell(0, 5, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.heading("export")
    pdf.mapping(data["export"])
    for section in SECTIONS:
        pdf.heading(section)
        content = data[section]
        if isinstance(content, dict):
            pdf.mapping(content)
            continue
        if not content:
            pdf.empty()
        for index, item in enumerate(content):
            if index and section not in COMPACT_SECTIONS:
                pdf.separator()
            if section == "cases":
                _case_section(pdf, item)
            elif section in COMPACT_SECTIONS:
                _compact_row(pdf, item)
            elif section == "corrections":
                pdf.mapping(item, skip=("fields",))
                for name, change in item["fields"].items():
                    if change is None:  # sensitive text, recorded as changed only
                        pdf.row(name, " / ".join(TEXT["changed"]))
                    else:
                        pdf.row(name, f"{_text(change[0])} → {_text(change[1])}")
            else:
                pdf.mapping(item)
    return bytes(pdf.output())


# --- The export -----------------------------------------------------------------------------------


@dataclass
class Export:
    content: bytes
    mimetype: str
    filename: str


def file_name(person: Person, fmt: str, day: date | None = None) -> str:
    day = day or utcnow().date()
    return f"casework-acces-personne-{person.id}-{day.isoformat()}.{fmt}"


def export(person: Person, fmt: str, *, by: Any, channel: str) -> Export:
    """Everything held about `person` as `fmt` (json or pdf), audited. The caller commits."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    data = collect(person)
    content = to_json(data) if fmt == "json" else to_pdf(data)
    record(
        "person.subject_access",
        user=by,
        record=person,
        format=fmt,
        channel=channel,
        sections={name: len(data[name]) for name in SECTIONS if isinstance(data[name], list)},
    )
    return Export(content, JSON_TYPE if fmt == "json" else PDF_TYPE, file_name(person, fmt))
