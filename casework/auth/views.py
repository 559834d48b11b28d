"""Sign-in, sign-out and the user's own account page."""

from __future__ import annotations

import time

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from casework.auth.forms import ChangePasswordForm, ConfirmForm, PreferencesForm, SignInForm
from casework.auth.operations import authenticate, set_language, set_password, sign_out
from casework.auth.passwords import verify_password
from casework.extensions import db, limiter
from casework.main.views import _safe_next
from casework.policy import public, requires

bp = Blueprint("auth", __name__)


def _signin_limit() -> str:
    return current_app.config["RATELIMIT_SIGNIN"]


@bp.route("/sign-in", methods=["GET", "POST"])
@public
@limiter.limit(_signin_limit, methods=["POST"])
def sign_in():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = SignInForm()
    if form.validate_on_submit():
        result = authenticate(form.email.data, form.password.data, channel="web")
        db.session.commit()  # failures are counted and audited even though sign-in fails
        if result.locked_until is not None:
            flash(
                _(
                    "Too many failed attempts. Try again after %(when)s.",
                    when=format_datetime(result.locked_until, "short"),
                ),
                "danger",
            )
        elif result.ok:
            session.clear()  # a new session on sign-in: nothing carried over from before
            login_user(result.user)
            session["signed_in_at"] = session["seen_at"] = time.time()
            return redirect(_safe_next(request.args.get("next")))
        else:
            flash(_("Wrong email or password."), "danger")
        form.password.data = ""
    return render_template("auth/sign_in.html", form=form)


@bp.route("/sign-out", methods=["POST"])
@requires("account.use")
def sign_out_view():
    form = ConfirmForm()
    if form.validate_on_submit():
        sign_out(current_user)
        db.session.commit()
        logout_user()
        flash(_("You are signed out."), "info")
    response = redirect(url_for("auth.sign_in"))
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


@bp.route("/account", methods=["GET", "POST"])
@requires("account.use")
def account():
    password_form = ChangePasswordForm(prefix="pw")
    password_form._account_email = current_user.email
    preferences = PreferencesForm(prefix="pref", obj=current_user)
    if request.method == "POST" and request.form.get("form") == "password":
        if password_form.validate_on_submit():
            if verify_password(current_user.password_hash, password_form.current_password.data):
                set_password(current_user, password_form.new_password.data, by=current_user)
                db.session.commit()
                # The session version changed: renew this session. Pass the user itself, not
                # the `current_user` proxy, which would then resolve to itself forever.
                login_user(current_user._get_current_object())
                flash(_("Your password is changed. Other sessions are signed out."), "success")
                return redirect(url_for("auth.account"))
            password_form.current_password.errors.append(_("This is not your current password."))
    elif (
        request.method == "POST"
        and request.form.get("form") == "preferences"
        and preferences.validate_on_submit()
    ):
        set_language(current_user, preferences.preferred_language.data)
        db.session.commit()
        flash(_("Your preferences are saved."), "success")
        return redirect(url_for("auth.account"))
    return render_template(
        "auth/account.html", password_form=password_form, preferences=preferences
    )
