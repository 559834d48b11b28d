"""The home page each role lands on, the language switch and the health check."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import func, select

from casework.auth.operations import set_language
from casework.extensions import db
from casework.forms import LanguageForm
from casework.policy import can, public, requires

bp = Blueprint("main", __name__)


@bp.route("/")
@public
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.sign_in"))
    return redirect(url_for("main.home"))


@bp.route("/home")
@requires("account.use")
def home():
    from casework.people.models import Person
    from casework.policy import people_scope

    people_count = None
    if can(current_user, "person.search"):
        people_count = db.session.scalar(
            select(func.count()).select_from(Person).where(people_scope(current_user))
        )
    return render_template("main/home.html", people_count=people_count)


@bp.route("/language", methods=["POST"])
@public
def choose_language():
    form = LanguageForm()
    if form.validate_on_submit() and form.language.data in current_app.config["LANGUAGES"]:
        session["language"] = form.language.data
        if current_user.is_authenticated:
            set_language(current_user, form.language.data)
            db.session.commit()
    return redirect(_safe_next(request.form.get("next")))


def _safe_next(target: str | None) -> str:
    """Only follow local paths: an open redirect would hand users to a look-alike site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("main.index")


@bp.route("/health")
@public
def health():
    db.session.execute(select(1))
    return {"status": "ok"}
