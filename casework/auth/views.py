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

from casework.auth import second_factor as mfa
from casework.auth.forms import (
    ChangePasswordForm,
    ConfirmForm,
    EnrolSecondFactorForm,
    PreferencesForm,
    ReauthenticateForm,
    SecondFactorForm,
    SignInForm,
)
from casework.auth.models import User
from casework.auth.operations import (
    authenticate,
    complete_sign_in,
    second_factor_failed,
    set_language,
    set_password,
    sign_out,
)
from casework.auth.passwords import verify_password
from casework.auth.reauth import mark_reauthenticated
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
        elif result.needs_second_factor:
            session.clear()
            session["second_factor_user"] = result.user.id
            session["second_factor_since"] = time.time()
            return redirect(url_for("auth.verify_second_factor", next=request.args.get("next")))
        elif result.ok:
            _start_session(result.user)
            return redirect(_safe_next(request.args.get("next")))
        else:
            flash(_("Wrong email or password."), "danger")
        form.password.data = ""
    return render_template("auth/sign_in.html", form=form)


def _start_session(user) -> None:
    session.clear()  # a new session on sign-in: nothing carried over from before
    login_user(user)
    session["signed_in_at"] = session["seen_at"] = time.time()
    if mfa.required_for(user) and not user.has_second_factor:
        session["second_factor_enrolment"] = True


SECOND_FACTOR_WINDOW = 300  # seconds between the password and the code


@bp.route("/sign-in/second-factor", methods=["GET", "POST"])
@public
@limiter.limit(_signin_limit, methods=["POST"])
def verify_second_factor():
    """The second step of signing in: a code from the authenticator app or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    user_id = session.get("second_factor_user")
    started = session.get("second_factor_since", 0)
    user = db.session.get(User, user_id) if user_id else None
    if user is None or time.time() - started > SECOND_FACTOR_WINDOW or not user.active:
        session.pop("second_factor_user", None)
        session.pop("second_factor_since", None)
        flash(_("Please sign in again."), "info")
        return redirect(url_for("auth.sign_in"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        if user.is_locked:
            flash(_("Too many failed attempts. Try again later."), "danger")
        elif mfa.check_code(user, form.code.data):
            complete_sign_in(user, channel="web")
            db.session.commit()
            _start_session(user)
            return redirect(_safe_next(request.args.get("next")))
        else:
            second_factor_failed(user, channel="web")
            db.session.commit()
            form.code.errors.append(_("This code is not valid (or was already used)."))
        form.code.data = ""
    return render_template("auth/second_factor.html", form=form)


@bp.route("/account/second-factor", methods=["GET", "POST"])
@requires("account.use")
def manage_second_factor():
    """Turn the second factor on (password again, then a code from the app) or off."""
    form = EnrolSecondFactorForm()
    codes = None
    secret = session.get("pending_totp_secret")
    if request.method == "POST" and request.form.get("step") == "start":
        if form.validate_on_submit() and verify_password(
            current_user.password_hash, form.password.data
        ):
            secret = mfa.new_secret()
            session["pending_totp_secret"] = secret
        else:
            form.password.errors.append(_("This is not your current password."))
    elif request.method == "POST" and request.form.get("step") == "confirm" and secret:
        if form.validate_on_submit():
            codes = mfa.enable(current_user, secret, form.code.data or "")
            if codes is None:
                form.code.errors.append(_("This code is not valid. Check the clock of the phone."))
            else:
                session.pop("pending_totp_secret", None)
                session.pop("second_factor_enrolment", None)
                db.session.commit()
                secret = None
    elif request.method == "POST" and request.form.get("step") == "disable":
        if mfa.required_for(current_user):
            flash(_("Your role requires a second factor: it cannot be turned off."), "warning")
        elif form.validate_on_submit() and verify_password(
            current_user.password_hash, form.password.data
        ):
            mfa.disable(current_user, by=current_user)
            db.session.commit()
            flash(_("The second factor is off. Other sessions are signed out."), "info")
            login_user(db.session.get(User, current_user.id))
            return redirect(url_for("auth.manage_second_factor"))
        else:
            form.password.errors.append(_("This is not your current password."))
    qr = None
    if secret:
        qr = mfa.qr_svg(mfa.provisioning_uri(current_user, secret))
    return render_template(
        "auth/manage_second_factor.html",
        form=form,
        secret=secret,
        qr=qr,
        recovery_codes=codes,
        required=mfa.required_for(current_user),
    )


def require_enrolment() -> None:
    """`before_request`: a role that must use a second factor reaches nothing else until one
    is set up."""
    if not session.get("second_factor_enrolment"):
        return None
    allowed = {"auth.manage_second_factor", "auth.sign_out_view", "main.choose_language"}
    if request.endpoint in allowed or (request.endpoint or "").endswith("static"):
        return None
    if request.path.startswith("/api/"):
        return None
    return redirect(url_for("auth.manage_second_factor"))


@bp.route("/account/confirm", methods=["GET", "POST"])
@requires("account.use")
def confirm_password():
    """Type the password again before a sensitive action (a bulk export)."""
    form = ReauthenticateForm()
    if form.validate_on_submit():
        if verify_password(current_user.password_hash, form.password.data):
            mark_reauthenticated()
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append(_("This is not your current password."))
    return render_template("auth/confirm_password.html", form=form)


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
