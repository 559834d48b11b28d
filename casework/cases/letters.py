"""The filing receipt (récépissé) and the decision letter: bilingual PDFs, French and Arabic.

Each letter carries a QR code to `/verify/<token>`, where anyone can check that it is genuine
(see `casework.cases.document_views.verify_letter`). The token signs {case id, kind of letter}
with the app's SECRET_KEY (itsdangerous, salt "casework-receipt"): it cannot be forged, and ids
cannot be enumerated without it. Letters never expire, so rotating SECRET_KEY invalidates the
printed ones unless the old key moves to SECRET_KEY_FALLBACKS (read here too).

The letters' wording is an official bilingual document, the same whatever the reader's UI
language: it lives here in French and Arabic, not in the UI translations.

Font. Arabic must be shaped (joined letters, lam-alef ligatures) and laid out right to left:
fpdf2 does both with `set_text_shaping(True)` (HarfBuzz through uharfbuzz, then the Unicode
bidi algorithm), given a TrueType font with Arabic glyphs and an `arab` GSUB table. A newcomer's
machine has only Python, so the font must come from PyPI, installed by `pip install -e .`, never
downloaded at run time nor committed here. We use DejaVu Sans, which matplotlib ships in every
wheel (`matplotlib/mpl-data/fonts/ttf/`): Latin, Arabic and Tifinagh in one face, regular and
bold, free licence. matplotlib is a heavy dependency for one font, but it is a mainstream,
long-lived package whose font path has not moved in a decade, which matters more for a system of
record than size; single-purpose font packages on PyPI (Noto/Amiri repackagings) are young,
single-maintainer uploads, and Noto Sans Arabic would need a second font for Latin text. We only
locate the file (`importlib.util.find_spec`): matplotlib itself is never imported.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import segno
from flask import current_app
from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from itsdangerous import BadSignature, URLSafeSerializer

from casework.audit.operations import record
from casework.cases import guards
from casework.cases.models import Case, CaseKind
from casework.extensions import db

TOKEN_SALT = "casework-receipt"  # noqa: S105 - a salt (a namespace), not a secret
RECEIPT, DECISION = "receipt", "decision"
KINDS = (RECEIPT, DECISION)

FONT_FAMILY = "DejaVu"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}


# --- Wording: (French, Arabic) ------------------------------------------------------------------

TEXT: dict[str, tuple[str, str]] = {
    "kingdom": ("ROYAUME DU MAROC", "المملكة المغربية"),
    "receipt": ("Récépissé de dépôt", "وصل الإيداع"),
    "decision": ("Notification de décision", "تبليغ بالقرار"),
    "reference": ("Référence", "المرجع"),
    "filed_on": ("Date de dépôt", "تاريخ الإيداع"),
    "office": ("Bureau", "المكتب"),
    "kind": ("Nature de la demande", "نوع الطلب"),
    "applicant": ("Demandeur", "مقدم الطلب"),
    "outcome": ("Décision", "القرار"),
    "decided_on": ("Date de la décision", "تاريخ القرار"),
    "reasons": ("Motifs", "الأسباب"),
    "appeal_until": ("Recours possible jusqu'au", "أجل تقديم الطعن"),
    "receipt_note": (
        "Le présent récépissé atteste du dépôt de la demande ci-dessus. "
        "Il ne vaut pas titre de séjour. Conservez-le.",
        "يشهد هذا الوصل بإيداع الطلب المذكور أعلاه، ولا يعتبر سندا للإقامة. يرجى الاحتفاظ به.",
    ),
    "appeal_note": (
        "Vous pouvez former un recours contre cette décision jusqu'à la date indiquée ci-dessus.",
        "يمكنكم الطعن في هذا القرار داخل الأجل المذكور أعلاه.",
    ),
    "verify": (
        "Authenticité : scannez le code ou ouvrez l'adresse ci-dessous.",
        "للتحقق من صحة هذه الوثيقة، امسحوا الرمز أو افتحوا العنوان أدناه.",
    ),
}

KIND_TEXT = {
    CaseKind.REGULARISATION: ("Régularisation de la situation administrative", "تسوية الوضعية"),
    CaseKind.ASYLUM: ("Demande d'asile", "طلب اللجوء"),
    CaseKind.RENEWAL: ("Renouvellement de la carte de séjour", "تجديد بطاقة الإقامة"),
}

OUTCOME_TEXT = {
    "accepted": ("Demande acceptée", "قبول الطلب"),
    "rejected": ("Demande rejetée", "رفض الطلب"),
    "recognised": ("Statut de réfugié reconnu", "الاعتراف بصفة لاجئ"),
    "appeal_granted": ("Recours accepté", "قبول الطعن"),
    "appeal_dismissed": ("Recours rejeté", "رفض الطعن"),
}

REASON_TEXT = {
    "meets_category_conditions": (
        "Conditions de la catégorie d'éligibilité remplies", "استيفاء شروط فئة الأهلية"
    ),
    "policy_rule_applies": (
        "Application d'une règle de l'opération", "تطبيق قاعدة من قواعد العملية"
    ),
    "humanitarian_grounds": ("Motifs humanitaires", "أسباب إنسانية"),
    "well_founded_fear": ("Crainte fondée de persécution", "خوف مبرر من الاضطهاد"),
    "conditions_not_met": ("Conditions de la catégorie non remplies", "عدم استيفاء شروط الفئة"),
    "documents_missing": ("Pièces requises manquantes", "نقص في الوثائق المطلوبة"),
    "insufficient_proof_of_stay": ("Preuve de séjour insuffisante", "عدم كفاية إثبات الإقامة"),
    "false_documents": ("Documents faux ou falsifiés", "وثائق مزورة أو محرفة"),
    "public_order": ("Menace pour l'ordre public", "تهديد للنظام العام"),
    "not_credible": ("Récit non crédible", "رواية تفتقر إلى المصداقية"),
    "outside_convention_grounds": (
        "Hors des motifs de la Convention de 1951", "خارج الأسباب المحددة في اتفاقية 1951"
    ),
}  # fmt: skip


# --- Decisions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """The latest decision on a file: the appeal's when there was one, else the first."""

    outcome: str  # a key of OUTCOME_TEXT
    decided_on: date
    appeal_until: date | None = None
    reasons: tuple[str, ...] = ()


def decision_of(case: Case) -> Decision | None:
    if case.appeal_outcome and case.appeal_decided_on:
        outcome = "appeal_granted" if case.appeal_outcome == "granted" else "appeal_dismissed"
        return Decision(outcome, case.appeal_decided_on)
    if not case.first_instance_outcome or case.decided_on is None:
        return None
    reasons = tuple(case.proposed_reasons or ())
    if case.first_instance_outcome == "favourable":
        outcome = "recognised" if case.kind == CaseKind.ASYLUM else "accepted"
        return Decision(outcome, case.decided_on, reasons=reasons)
    # Renewals have no appeal in their workflow; the other files do, within the window.
    appeal_until = None if case.kind == CaseKind.RENEWAL else guards.appeal_deadline(case)
    return Decision("rejected", case.decided_on, appeal_until, reasons)


def available(case: Case, kind: str) -> bool:
    return kind == RECEIPT or (kind == DECISION and decision_of(case) is not None)


# --- Tokens -------------------------------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    config = current_app.config
    # itsdangerous signs with the last key and accepts any of them: old receipts survive a
    # rotation of SECRET_KEY when the old key is kept in SECRET_KEY_FALLBACKS.
    keys = [*(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"]]
    return URLSafeSerializer(keys, salt=TOKEN_SALT)


def letter_token(case: Case, kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"Unknown letter {kind!r}")
    return _serializer().dumps({"case": case.id, "kind": kind})


def read_token(token: str) -> tuple[int, str] | None:
    """(case id, kind of letter) when `token` is one we signed, else None."""
    try:
        payload: Any = _serializer().loads(token)
    except (BadSignature, UnicodeError, ValueError):
        return None
    if not isinstance(payload, dict):
        return None
    case_id, kind = payload.get("case"), payload.get("kind")
    if not isinstance(case_id, int) or isinstance(case_id, bool) or kind not in KINDS:
        return None
    return case_id, kind


def verified_letter(token: str) -> tuple[Case, str] | None:
    """The case and kind a genuine token vouches for, if that letter can (still) exist."""
    found = read_token(token)
    if found is None:
        return None
    case = db.session.get(Case, found[0])
    if case is None or not available(case, found[1]):
        return None
    return case, found[1]


def record_letter_download(case: Case, kind: str, *, by: Any, channel: str) -> None:
    record("case.letter_download", user=by, record=case, letter=kind, channel=channel)


# --- Rendering ----------------------------------------------------------------------------------


@cache
def font_directory() -> Path:
    """matplotlib's bundled TrueType fonts, located without importing matplotlib."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("matplotlib is not installed: it provides the letters' font")
    directory = Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf"
    missing = [name for name in FONT_FILES.values() if not (directory / name).is_file()]
    if missing:
        raise RuntimeError(f"Font files missing from matplotlib: {', '.join(missing)}")
    return directory


def _day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else "—"


PAGE_MARGIN = 18.0
GUTTER = 8.0
LINE = 5.6


class _Letter(FPDF):
    """An A4 page with two columns, French on the left and Arabic on the right."""

    def __init__(self, title: str) -> None:
        super().__init__(format="A4", unit="mm")
        self.set_margins(PAGE_MARGIN, PAGE_MARGIN, PAGE_MARGIN)
        self.set_auto_page_break(True, margin=PAGE_MARGIN)
        directory = font_directory()
        for style, name in FONT_FILES.items():
            self.add_font(FONT_FAMILY, style, directory / name)
        # HarfBuzz shapes each run; the bidi algorithm orders runs and picks each paragraph's
        # direction from its first strong letter (Arabic → right to left).
        self.set_text_shaping(True)
        self.set_title(title)
        self.set_lang("fr")
        self.set_creator("Casework")
        self.add_page()
        self.column = (self.epw - GUTTER) / 2

    @property
    def right_x(self) -> float:
        return self.l_margin + self.column + GUTTER

    def pair(self, french: str, arabic: str, size: float = 10.5, style: str = "") -> None:
        """French text in the left column, Arabic in the right one, top-aligned on one row."""
        self.set_font(FONT_FAMILY, style, size)
        top = self.y
        self.set_xy(self.l_margin, top)
        self.multi_cell(self.column, LINE, french, align=Align.L, new_x=XPos.LMARGIN)
        left_bottom = self.y
        self.set_xy(self.right_x, top)
        self.multi_cell(self.column, LINE, arabic, align=Align.R, new_x=XPos.LMARGIN)
        self.set_y(max(left_bottom, self.y))

    def field(self, key: str, french_value: str, arabic_value: str | None = None) -> None:
        """`Label : value` on both sides; the label in bold, the value as it is."""
        french_label, arabic_label = TEXT[key]
        arabic_value = french_value if arabic_value is None else arabic_value
        self.set_font(FONT_FAMILY, "B", 9)
        self.set_text_color(90, 90, 90)
        self.pair(french_label, arabic_label, size=9, style="B")
        self.set_text_color(0, 0, 0)
        self.pair(french_value, arabic_value, size=11)
        self.ln(2.2)

    def rule(self, gap: float = 4.0) -> None:
        self.ln(gap / 2)
        self.set_draw_color(29, 78, 137)
        self.set_line_width(0.4)
        self.line(self.l_margin, self.y, self.l_margin + self.epw, self.y)
        self.ln(gap / 2)

    def header_block(self, case: Case, title_key: str) -> None:
        self.set_text_color(29, 78, 137)
        self.pair(*TEXT["kingdom"], size=12, style="B")
        self.set_text_color(0, 0, 0)
        self.pair(case.office.name, case.office.name_in("ar"), size=9.5)
        self.rule(6)
        self.set_font(FONT_FAMILY, "B", 16)
        french, arabic = TEXT[title_key]
        self.cell(0, 8, french, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.cell(0, 9, arabic, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FONT_FAMILY, "", 11)
        self.cell(0, 7, case.reference, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.rule(6)

    def identity_block(self, case: Case) -> None:
        applicant = case.applicant
        kind_fr, kind_ar = KIND_TEXT[CaseKind(case.kind)]
        self.field("reference", case.reference)
        self.field("filed_on", _day(case.filed_on))
        self.field("office", case.office.name, case.office.name_in("ar"))
        self.field("kind", kind_fr, kind_ar)
        self.field("applicant", applicant.full_name, applicant.full_name_ar or applicant.full_name)

    def note(self, key: str) -> None:
        self.set_text_color(60, 60, 60)
        self.pair(*TEXT[key], size=9.5)
        self.set_text_color(0, 0, 0)

    def verification_block(self, url: str) -> None:
        """The QR code to `url`, with the address printed for those who cannot scan it."""
        size = 34.0
        needed = size + 22
        if self.y + needed > self.h - self.b_margin:
            self.add_page()
        self.rule(6)
        top = self.y
        draw_qr(self, url, self.l_margin + (self.epw - size) / 2, top, size)
        self.set_y(top + size + 2)
        self.pair(*TEXT["verify"], size=8.5)
        self.set_font(FONT_FAMILY, "", 7.5)
        self.set_text_color(29, 78, 137)
        self.multi_cell(0, 4, url, align=Align.C, link=url, new_x=XPos.LMARGIN)
        self.set_text_color(0, 0, 0)


def draw_qr(pdf: FPDF, data: str, x: float, y: float, size: float) -> None:
    """A QR code drawn as vector squares (crisp at any zoom or printer), with its quiet zone."""
    qr = segno.make(data, error="m", micro=False)
    border = 4
    matrix = qr.matrix
    modules = len(matrix) + 2 * border
    unit = size / modules
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x, y, size, size, style="F")
    pdf.set_fill_color(0, 0, 0)
    for row, line in enumerate(matrix):
        column = 0
        while column < len(line):
            if not line[column]:
                column += 1
                continue
            start = column
            while column < len(line) and line[column]:
                column += 1
            pdf.rect(
                x + (border + start) * unit,
                y + (border + row) * unit,
                (column - start) * unit,
                unit,
                style="F",
            )


def receipt_pdf(case: Case, verify_url: str) -> bytes:
    """The filing receipt: reference, filing date, office, kind, applicant, QR to `verify_url`."""
    pdf = _Letter(f"Récépissé {case.reference}")
    pdf.header_block(case, "receipt")
    pdf.identity_block(case)
    pdf.ln(2)
    pdf.note("receipt_note")
    pdf.verification_block(verify_url)
    return bytes(pdf.output())


def decision_pdf(case: Case, verify_url: str) -> bytes:
    """The decision letter; raises LookupError when the file has no decision yet."""
    decision = decision_of(case)
    if decision is None:
        raise LookupError("This file has no decision yet.")
    pdf = _Letter(f"Décision {case.reference}")
    pdf.header_block(case, "decision")
    pdf.identity_block(case)
    pdf.rule(4)
    outcome_fr, outcome_ar = OUTCOME_TEXT[decision.outcome]
    pdf.field("outcome", outcome_fr, outcome_ar)
    pdf.field("decided_on", _day(decision.decided_on))
    reasons = [REASON_TEXT[code] for code in decision.reasons if code in REASON_TEXT]
    if reasons:
        pdf.field(
            "reasons",
            "\n".join(f"– {french}" for french, _ in reasons),
            "\n".join(f"– {arabic}" for _, arabic in reasons),
        )
    if decision.appeal_until is not None:
        pdf.field("appeal_until", _day(decision.appeal_until))
        pdf.note("appeal_note")
    pdf.verification_block(verify_url)
    return bytes(pdf.output())


def render(case: Case, kind: str, verify_url: str) -> bytes:
    return receipt_pdf(case, verify_url) if kind == RECEIPT else decision_pdf(case, verify_url)


def download_name(case: Case, kind: str) -> str:
    return f"{case.reference}-{'recepisse' if kind == RECEIPT else 'decision'}.pdf"
