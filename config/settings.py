"""Settings: defaults, then the environment's class, then environment variables."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("CASEWORK_INSTANCE_DIR", PROJECT_ROOT / "instance"))


class BaseSettings:
    ENV_NAME = "base"
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{INSTANCE_DIR / 'casework.db'}"
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SECRET_KEY: str | None = None
    REDIS_URL: str | None = None
    UPLOAD_DIR = str(INSTANCE_DIR / "uploads")
    MAX_UPLOAD_MB = 10
    # Uploaded import files and their problems reports hold personal data: a check never
    # confirmed loses them after this many hours (`casework imports purge`, and each new import).
    IMPORT_FILES_MAX_HOURS = 24

    # Sessions: the cookie carries only the user id and a per-user session version.
    SESSION_COOKIE_NAME = "casework_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)  # absolute limit of a signed-in session
    SESSION_IDLE_MINUTES = 30
    # Bulk exports of personal data ask for the password again (or a fresh API token).
    REAUTH_MINUTES = 5
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)

    WTF_CSRF_TIME_LIMIT = 8 * 3600

    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Africa/Casablanca"
    LANGUAGES = ("fr", "en", "ar")

    BOOTSTRAP_SERVE_LOCAL = True

    # Sign-in throttling (issue #2): 10 failures lock the account for 15 minutes.
    LOCKOUT_THRESHOLD = 10
    LOCKOUT_MINUTES = 15
    PASSWORD_MIN_LENGTH = 12
    PASSWORD_MAX_LENGTH = 256
    API_TOKEN_HOURS = 8
    # None: argon2-cffi's defaults, which meet ASVS 5.0. Only tests lower them.
    ARGON2_PARAMETERS: dict | None = None

    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_SIGNIN = "30 per minute"

    API_TITLE = "Casework API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"

    DEMO_ALLOWED = True
    FORCE_HTTPS = False
    PROXY_FIX_HOPS = 0
    # The address printed in receipts' QR codes (https://casework.example.gov.ma); default:
    # the host of the request that produced the receipt.
    PUBLIC_BASE_URL: str | None = None
    LOG_LEVEL = "INFO"

    # Retention (law 09-08: data kept only as long as its purpose needs), in whole years:
    # people whose every file is closed or withdrawn, counted from the last closing; people
    # with no file (NGO walk-ins), counted from their last activity. `casework retention apply`
    # anonymises them; the statistics columns of their files stay.
    RETENTION_CLOSED_CASE_YEARS = 10
    RETENTION_WALK_IN_YEARS = 5

    # Encryption at rest of the sensitive fields (casework.field_encryption): comma-separated
    # `keyid:base64url-32-byte-key`, the first encrypting new writes. Empty: stored in clear.
    # Production may set FIELD_ENCRYPTION_REQUIRED=1 to refuse to start without keys.
    FIELD_ENCRYPTION_KEYS = ""
    FIELD_ENCRYPTION_REQUIRED = False


class DevelopmentSettings(BaseSettings):
    ENV_NAME = "development"


class TestingSettings(BaseSettings):
    ENV_NAME = "testing"
    TESTING = True
    SQLALCHEMY_DATABASE_URI = "sqlite:///:memory:"
    SECRET_KEY = "testing-only-secret-key"  # noqa: S105 - fixed for reproducible tests
    RATELIMIT_ENABLED = False
    WTF_CSRF_ENABLED = False
    # Cheap hashes: the suite signs in hundreds of times. Never used outside tests.
    ARGON2_PARAMETERS = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


class ProductionSettings(BaseSettings):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    # `__Host-` binds the cookie to this host and path, and requires Secure.
    SESSION_COOKIE_NAME = "__Host-casework_session"
    DEMO_ALLOWED = False
    FORCE_HTTPS = True
    LOG_LEVEL = "WARNING"


ENVIRONMENTS = {
    "development": DevelopmentSettings,
    "testing": TestingSettings,
    "production": ProductionSettings,
}

# Environment variables that override a setting, and how to read them.
ENV_OVERRIDES: dict[str, tuple[str, type]] = {
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str),
    "SECRET_KEY": ("SECRET_KEY", str),
    "REDIS_URL": ("REDIS_URL", str),
    "UPLOAD_DIR": ("UPLOAD_DIR", str),
    "MAX_UPLOAD_MB": ("MAX_UPLOAD_MB", int),
    "IMPORT_FILES_MAX_HOURS": ("IMPORT_FILES_MAX_HOURS", float),
    "PROXY_FIX_HOPS": ("PROXY_FIX_HOPS", int),
    "LOG_LEVEL": ("LOG_LEVEL", str),
    "PUBLIC_BASE_URL": ("PUBLIC_BASE_URL", str),
    "API_TOKEN_HOURS": ("API_TOKEN_HOURS", int),
    "RATELIMIT_ENABLED": ("RATELIMIT_ENABLED", bool),
    "RETENTION_CLOSED_CASE_YEARS": ("RETENTION_CLOSED_CASE_YEARS", int),
    "RETENTION_WALK_IN_YEARS": ("RETENTION_WALK_IN_YEARS", int),
    "FIELD_ENCRYPTION_KEYS": ("FIELD_ENCRYPTION_KEYS", str),
    "FIELD_ENCRYPTION_REQUIRED": ("FIELD_ENCRYPTION_REQUIRED", bool),
}


def _parse(value: str, kind: type) -> Any:
    if kind is bool:
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return kind(value)


def _normalise_database_url(url: str) -> str:
    # Hosting platforms hand out `postgres://` or `postgresql://`; we use psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _development_secret_key() -> str:
    """A key kept in instance/ so that sessions survive restarts and workers agree."""
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def load_settings(name: str | None = None, overrides: dict[str, Any] | None = None) -> dict:
    """Return the settings of environment `name` with environment variables applied."""
    name = name or os.environ.get("CASEWORK_ENV", "development")
    if name not in ENVIRONMENTS:
        raise RuntimeError(f"Unknown CASEWORK_ENV {name!r}; use one of {sorted(ENVIRONMENTS)}")
    cls = ENVIRONMENTS[name]
    settings = {key: getattr(cls, key) for key in dir(cls) if key.isupper()}
    for env_name, (key, kind) in ENV_OVERRIDES.items():
        if os.environ.get(env_name):
            settings[key] = _parse(os.environ[env_name], kind)
    mfa_roles = os.environ.get("MFA_REQUIRED_ROLES")
    settings["MFA_REQUIRED_ROLES"] = (
        {r.strip() for r in mfa_roles.split(",") if r.strip()} if mfa_roles is not None else set()
    )
    settings.update(overrides or {})
    settings["SQLALCHEMY_DATABASE_URI"] = _normalise_database_url(
        settings["SQLALCHEMY_DATABASE_URI"]
    )
    if not settings.get("SECRET_KEY"):
        if name == "production":
            raise RuntimeError("SECRET_KEY must be set in production (see README).")
        settings["SECRET_KEY"] = _development_secret_key()
    settings["MAX_CONTENT_LENGTH"] = (settings["MAX_UPLOAD_MB"] + 1) * 1024 * 1024
    return settings
