"""Administration pages: accounts and organisations."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from casework.admin.forms import OrganisationForm, UserForm
from casework.admin.models import Organisation
from casework.admin.operations import save_organisation
from casework.auth.forms import ConfirmForm
from casework.auth.models import User
from casework.auth.operations import (
    create_user,
    find_user_by_email,
    set_password,
    unlock,
    update_user,
)
from casework.extensions import db
from casework.policy import requires

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users")
@requires("user.manage")
def users():
    rows = db.session.scalars(select(User).order_by(User.email)).all()
    return render_template("admin/users.html", users=rows, action_form=ConfirmForm())


@bp.route("/users/new", methods=["GET", "POST"])
@requires("user.manage")
def new_user():
    form = UserForm(creating=True)
    if form.validate_on_submit():
        if find_user_by_email(form.email.data):
            form.email.errors.append(_("An account with this email already exists."))
        else:
            user = create_user(
                email=form.email.data,
                name=form.name.data,
                role=form.role.data,
                organisation_id=form.organisation_id.data,
                region_code=form.region_code.data or None,
                password=form.password.data,
                preferred_language=form.preferred_language.data,
                by=current_user,
            )
            db.session.commit()
            flash(_("Account %(email)s created.", email=user.email), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@requires("user.manage")
def edit_user(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    form = UserForm(obj=user)
    if form.validate_on_submit():
        other = find_user_by_email(form.email.data)
        if other is not None and other.id != user.id:
            form.email.errors.append(_("An account with this email already exists."))
        elif user.id == current_user.id and (not form.active.data or form.role.data != "admin"):
            form.active.errors.append(_("You cannot deactivate or demote your own account."))
        else:
            update_user(
                user,
                by=current_user,
                email=form.email.data.strip().lower(),
                name=form.name.data,
                role=form.role.data,
                organisation_id=form.organisation_id.data,
                region_code=form.region_code.data or None,
                preferred_language=form.preferred_language.data,
                active=form.active.data,
            )
            if form.password.data:
                set_password(user, form.password.data, by=current_user)
            db.session.commit()
            flash(_("Account %(email)s saved.", email=user.email), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user)


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@requires("user.manage")
def unlock_user(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    if ConfirmForm().validate_on_submit():
        unlock(user, by=current_user)
        db.session.commit()
        flash(_("Account %(email)s unlocked.", email=user.email), "success")
    return redirect(url_for("admin.users"))


@bp.route("/organisations")
@requires("organisation.manage")
def organisations():
    rows = db.session.scalars(select(Organisation).order_by(Organisation.name)).all()
    return render_template("admin/organisations.html", organisations=rows)


@bp.route("/organisations/new", methods=["GET", "POST"])
@bp.route("/organisations/<int:organisation_id>", methods=["GET", "POST"])
@requires("organisation.manage")
def edit_organisation(organisation_id: int | None = None):
    org = db.session.get(Organisation, organisation_id) if organisation_id else None
    if organisation_id and org is None:
        abort(404)
    form = OrganisationForm(obj=org)
    if form.validate_on_submit():
        clash = db.session.scalar(
            select(Organisation).where(
                (Organisation.code == form.code.data) | (Organisation.name == form.name.data)
            )
        )
        if clash is not None and clash is not org:
            form.code.errors.append(_("Another organisation has this code or name."))
        else:
            values = {
                "name": form.name.data.strip(),
                "name_ar": (form.name_ar.data or "").strip() or None,
                "code": form.code.data,
                "kind": form.kind.data,
                "prefecture_code": form.prefecture_code.data,
                "active": form.active.data,
            }
            org = save_organisation(org, values, by=current_user)
            db.session.commit()
            flash(_("Organisation %(name)s saved.", name=org.name), "success")
            return redirect(url_for("admin.organisations"))
    return render_template("admin/organisation_form.html", form=form, organisation=org)
