"""Tokens and the caller's identity."""

from __future__ import annotations

from flask import current_app
from flask_babel import format_datetime
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from casework.api.problems import abort_problem
from casework.auth import second_factor as mfa
from casework.auth.operations import (
    SignInResult,
    authenticate,
    complete_sign_in,
    issue_token,
    second_factor_failed,
)
from casework.extensions import db, limiter
from casework.people.schemas import OrganisationRefSchema
from casework.policy import public, requires

PREFIX = ""
blp = Blueprint("api_auth", __name__, description="Sign-in and the caller's identity")


class TokenRequestSchema(Schema):
    email = fields.String(required=True)
    password = fields.String(required=True, load_only=True)
    otp = fields.String(
        load_only=True,
        metadata={"description": "The second factor's code, when the account has one."},
    )


class TokenSchema(Schema):
    token = fields.String(required=True)
    expires_at = fields.DateTime(required=True)


class MeSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    role = fields.String()
    region_code = fields.String(allow_none=True)
    preferred_language = fields.String()
    organisation = fields.Nested(OrganisationRefSchema)


def _signin_limit() -> str:
    return current_app.config["RATELIMIT_SIGNIN"]


@blp.route("/auth/token", methods=["POST"])
@public
@limiter.limit(_signin_limit)
@blp.arguments(TokenRequestSchema)
@blp.response(200, TokenSchema)
@blp.alt_response(401, description="Wrong email or password, or the account is locked")
def create_token(credentials: dict):
    """Exchange an email and password for a bearer token."""
    result = authenticate(credentials["email"], credentials["password"], channel="api")
    if result.needs_second_factor or (result.ok and mfa.required_for(result.user)):
        user = result.user
        if not user.has_second_factor:
            db.session.commit()
            abort_problem(401, "Unauthorized", "Set up a second factor in the web app first.")
        if not credentials.get("otp") or not mfa.check_code(user, credentials["otp"]):
            second_factor_failed(user, channel="api")
            db.session.commit()
            abort_problem(401, "Unauthorized", "A valid second-factor code (otp) is required.")
        complete_sign_in(user, channel="api")
        result = SignInResult(user=user)
    if not result.ok:
        db.session.commit()  # the failure is counted and audited
        if result.locked_until is not None:
            abort_problem(
                401,
                "Account locked",
                "Too many failed attempts. Try again after "
                f"{format_datetime(result.locked_until, 'short')}.",
                locked_until=result.locked_until.isoformat(),
            )
        abort_problem(401, "Unauthorized", "Wrong email or password.")
    token, expires_at = issue_token(result.user)
    db.session.commit()
    return {"token": token, "expires_at": expires_at}


@blp.route("/me")
@requires("account.use")
@blp.response(200, MeSchema)
@blp.doc(security=[{"bearerAuth": []}])
def me():
    """The signed-in caller."""
    return current_user
