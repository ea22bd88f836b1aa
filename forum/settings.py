"""Settings come from the environment (see API.md and the README's table), read once at start-up."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite://forum.sqlite3"
LOCALES = ("nb", "en")


class SettingsError(ValueError):
    """A setting has a value we cannot run with; raised at start-up, never per request."""


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be on/off, got {raw!r}")


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None


def _float(name: str, default: float, low: float, high: float, what: str, *, low_open: bool = False) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be {what}, got {raw!r}") from None
    if not (low < value if low_open else low <= value) or not value <= high:
        raise SettingsError(f"{name} must be {what} between {low} and {high}, got {raw!r}")
    return value


def _positive_float(name: str, default: float) -> float:
    return _float(name, default, 0, 1000, "a positive number", low_open=True)


def _bounded_int(name: str, default: int, low: int, high: int) -> int:
    value = _int(name, default)
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _seconds(name: str, default: float) -> float:
    """A duration in seconds; 0 means "no limit"."""
    return _float(name, default, 0, 3600, "a number of seconds")


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def sqlite_path(url: str) -> Path:
    """`sqlite://relative.db` or `sqlite:///absolute.db` → the file's path."""
    return Path(url.split("://", 1)[1].split("?", 1)[0])


def _secret_file(database_url: str) -> Path:
    if is_sqlite(database_url):
        db = sqlite_path(database_url)
        return db.with_name(db.name + ".secret")
    return Path("forum.secret")


def load_secret_key(database_url: str) -> str:
    """The key signs CSRF tokens; generated once and kept beside the database so restarts keep sessions valid.

    Several processes may start at once, so the file is created exclusively and whoever loses the race reads it.
    """
    from_env = os.environ.get("FORUM_SECRET_KEY")
    if from_env:
        return from_env
    path = _secret_file(database_url)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if len(key) < 32:
            raise SettingsError(f"secret key file {path} is damaged; delete it or set FORUM_SECRET_KEY") from None
        return key
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key


@dataclass(frozen=True)
class Retention:
    """How long `forum purge` keeps records that have done their job, in days (see the README's settings)."""

    rate_limit_days: int = 2          # rows that only count recent attempts (sign-in throttling and the like)
    moderation_days: int = 365        # resolved moderation records: decided flags and cases, lifted sanctions
    security_log_days: int = 90       # security logs: sign-in attempts, password-reset requests
    # the ledger's link to a member who withdrew (consent_subject): kept while the consent could be disputed, the
    # Norwegian general limitation period of 3 years (foreldelsesloven § 2); the events stay, unlinked
    consent_evidence_days: int = 1096
    draft_days: int = 90              # composer drafts not saved again for this long (issue 25)


@dataclass(frozen=True)
class OidcSettings:
    """OpenID Connect sign-in (issue 23): on when an issuer is set. See the README's settings table."""

    issuer: str
    client_id: str
    client_secret: str = field(default="", repr=False)
    scopes: str = "openid email profile"
    label_nb: str = "Logg inn med bedriftskontoen"
    label_en: str = "Sign in with the company account"
    only: bool = False                # password sign-in and registration off (create-admin accounts keep theirs)
    link_verified_email: bool = False  # link an existing account when the provider's verified email matches
    algorithms: tuple[str, ...] = ("RS256", "ES256", "PS256", "EdDSA")
    staff_claim: str = ""             # e.g. "groups": a claim whose value(s) may grant the staff role
    staff_value: str = ""             # e.g. "forum-staff"

    def label(self, locale: str) -> str:
        return self.label_nb if locale == "nb" else self.label_en


_OIDC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


def load_oidc_settings(public_url: str) -> OidcSettings | None:
    issuer = os.environ.get("FORUM_OIDC_ISSUER", "").strip().rstrip("/")
    if not issuer:
        return None
    if not issuer.startswith(("https://", "http://")):
        raise SettingsError(f"FORUM_OIDC_ISSUER must be an http(s) URL, got {issuer!r}")
    if not public_url:
        raise SettingsError("FORUM_OIDC_ISSUER needs FORUM_PUBLIC_URL: the redirect URI is built from it")
    client_id = os.environ.get("FORUM_OIDC_CLIENT_ID", "").strip()
    if not client_id:
        raise SettingsError("FORUM_OIDC_ISSUER needs FORUM_OIDC_CLIENT_ID")
    scopes = os.environ.get("FORUM_OIDC_SCOPES", "openid email profile").split()
    if "openid" not in scopes:
        raise SettingsError("FORUM_OIDC_SCOPES must include openid")
    algorithms = tuple(os.environ.get("FORUM_OIDC_ALGORITHMS", "RS256,ES256,PS256,EdDSA").replace(",", " ").split())
    bad = [a for a in algorithms if a not in _OIDC_ALGORITHMS]
    if bad or not algorithms:
        raise SettingsError(f"FORUM_OIDC_ALGORITHMS must name signature algorithms from {_OIDC_ALGORITHMS}")
    staff_claim = os.environ.get("FORUM_OIDC_STAFF_CLAIM", "").strip()
    staff_value = os.environ.get("FORUM_OIDC_STAFF_VALUE", "").strip()
    if bool(staff_claim) != bool(staff_value):
        raise SettingsError("FORUM_OIDC_STAFF_CLAIM and FORUM_OIDC_STAFF_VALUE go together")
    defaults = OidcSettings(issuer="", client_id="")
    return OidcSettings(
        issuer=issuer, client_id=client_id, client_secret=os.environ.get("FORUM_OIDC_CLIENT_SECRET", ""),
        scopes=" ".join(scopes), label_nb=os.environ.get("FORUM_OIDC_LABEL_NB") or defaults.label_nb,
        label_en=os.environ.get("FORUM_OIDC_LABEL_EN") or defaults.label_en,
        only=_bool("FORUM_OIDC_ONLY", False), link_verified_email=_bool("FORUM_OIDC_LINK_VERIFIED_EMAIL", False),
        algorithms=algorithms, staff_claim=staff_claim, staff_value=staff_value,
    )


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str = field(default="", repr=False)
    host: str = "127.0.0.1"
    port: int = 8000
    smtp_url: str = ""
    public_url: str = ""
    secure_cookies: bool = False
    default_locale: str = "nb"
    workers: int = 1
    rate_limits: bool = True
    flag_hide_threshold: float = 3.0
    search_recent_posts: int = 10_000
    withdrawal_ordinary_posts: int = 3
    argon2_profile: str = "rfc9106_low_memory"
    password_hashes_at_once: int = 1     # argon2 hashes one process runs at a time (each takes 64 MiB while it runs)
    debug: bool = False
    db_pool_min: int = 1
    db_pool_max: int = 10
    db_statement_timeout: float = 15.0   # seconds; 0 turns it off
    cook_processes: int = 2              # worker processes that cook Markdown, per app process; 0: threads
    draft_max: int = 100                 # composer drafts one member may keep at once (issue 25)
    page_cache_mb: int = 16              # visitors' rendered pages kept per process; 0 turns the cache off
    member_page_cache_mb: int = 4        # signed-in pages kept per process by their whole context; 0: off
    retention: Retention = field(default_factory=Retention)
    oidc: OidcSettings | None = None     # OpenID Connect sign-in, off unless FORUM_OIDC_ISSUER is set
    controller_name: str = "Forum"
    controller_email: str = ""
    controller_address: str = ""
    controller_phone: str = ""
    jurisdiction: str = "NO"
    employment_roles: tuple[str, ...] = ("staff", "admin")
    email_verification: bool = True      # sign-in waits until the address is confirmed
    mail_worker: bool = True             # `forum serve` delivers the outbox (off: run `forum mail-worker` apart)
    mail_dir: str = ""                   # without FORUM_SMTP_URL mail goes to this maildir (default: beside the db)
    mail_delay: float = 300.0            # seconds an unread notification waits before it is mailed
    mail_retry_hours: float = 24.0       # delivery is retried with backoff this long, then given up and recorded
    mail_lease: float = 120.0            # seconds a worker holds a claimed mail; a dead worker's mail waits this long
    attachment_file_mb: int = 10         # largest file a post may carry (after re-encoding pictures are smaller)
    attachment_post_mb: int = 25         # all files of one post together
    attachments_per_post: int = 5
    uploads_per_hour: int = 30           # files one member may attach in an hour
    image_max_megapixels: int = 50       # larger pictures are refused before decoding (decompression bombs)
    ocr_worker: bool = True              # `forum serve` reads attached pictures (off: run `forum ocr-worker` apart)
    ocr_lease: float = 300.0             # seconds a worker holds a claimed picture

    @property
    def sqlite(self) -> bool:
        return is_sqlite(self.database_url)

    @property
    def maildir(self) -> Path:
        if self.mail_dir:
            return Path(self.mail_dir)
        if self.sqlite:
            db = sqlite_path(self.database_url)
            return db.with_name(db.name + ".maildir")
        return Path("forum.maildir")

    @property
    def base_url(self) -> str:
        """Where links in mails point: never taken from a request's Host header, which a client chooses."""
        return self.public_url or f"http://{self.host}:{self.port}"


ROLES = ("member", "staff", "moderator", "admin")


def _roles(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    roles = tuple(r.strip().lower() for r in raw.split(",") if r.strip())
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise SettingsError(f"{name} names unknown roles {unknown}; the roles are {', '.join(ROLES)}")
    return roles


def _country(name: str, default: str) -> str:
    value = os.environ.get(name, default).strip().upper()
    if len(value) != 2 or not value.isascii() or not value.isalpha():
        raise SettingsError(f"{name} must be a two-letter country code (ISO 3166-1), got {value!r}")
    return value


def load_settings(**overrides) -> Settings:
    database_url = overrides.pop("database_url", None) or os.environ.get("FORUM_DATABASE_URL") or DEFAULT_DATABASE_URL
    if database_url.startswith("postgresql://"):
        database_url = "postgres://" + database_url.removeprefix("postgresql://")
    locale = os.environ.get("FORUM_DEFAULT_LOCALE", "nb")
    if locale not in LOCALES:
        raise SettingsError(f"FORUM_DEFAULT_LOCALE must be one of {LOCALES}, got {locale!r}")
    rate_limits = os.environ.get("FORUM_RATE_LIMITS", "on").strip().lower()
    if rate_limits not in ("on", "off"):
        raise SettingsError(f"FORUM_RATE_LIMITS must be on or off, got {rate_limits!r}")
    profile = os.environ.get("FORUM_ARGON2_PROFILE", "rfc9106_low_memory")
    if profile not in ("rfc9106_low_memory", "cheapest"):
        raise SettingsError("FORUM_ARGON2_PROFILE must be rfc9106_low_memory or cheapest (tests only)")
    values = dict(
        database_url=database_url,
        host=os.environ.get("FORUM_HOST", "127.0.0.1"),
        port=_int("FORUM_PORT", 8000),
        smtp_url=os.environ.get("FORUM_SMTP_URL", ""),
        public_url=os.environ.get("FORUM_PUBLIC_URL", "").rstrip("/"),
        secure_cookies=_bool("FORUM_SECURE_COOKIES", False),
        default_locale=locale,
        workers=max(1, _int("FORUM_WORKERS", 1)),
        rate_limits=rate_limits == "on",
        flag_hide_threshold=_positive_float("FORUM_FLAG_HIDE_THRESHOLD", 3.0),
        search_recent_posts=_bounded_int("FORUM_SEARCH_RECENT_POSTS", 10_000, 100, 10_000_000),
        argon2_profile=profile,
        password_hashes_at_once=_bounded_int("FORUM_PASSWORD_HASHES_AT_ONCE", 1, 1, 64),
        debug=_bool("FORUM_DEBUG", False),
        db_pool_min=_bounded_int("FORUM_DB_POOL_MIN", 1, 0, 100),
        db_pool_max=_bounded_int("FORUM_DB_POOL_MAX", 10, 1, 100),
        db_statement_timeout=_seconds("FORUM_DB_STATEMENT_TIMEOUT", 15.0),
        cook_processes=_bounded_int("FORUM_COOK_PROCESSES", 2, 0, 32),
        draft_max=_bounded_int("FORUM_DRAFT_MAX", 100, 1, 10_000),
        page_cache_mb=_bounded_int("FORUM_PAGE_CACHE_MB", 16, 0, 4096),
        member_page_cache_mb=_bounded_int("FORUM_MEMBER_PAGE_CACHE_MB", 4, 0, 4096),
        retention=Retention(
            rate_limit_days=_bounded_int("FORUM_RETENTION_RATE_LIMIT_DAYS", 2, 1, 36500),
            moderation_days=_bounded_int("FORUM_RETENTION_MODERATION_DAYS", 365, 1, 36500),
            security_log_days=_bounded_int("FORUM_RETENTION_SECURITY_LOG_DAYS", 90, 1, 36500),
            consent_evidence_days=_bounded_int("FORUM_RETENTION_CONSENT_EVIDENCE_DAYS", 1096, 1, 36500),
            draft_days=_bounded_int("FORUM_RETENTION_DRAFT_DAYS", 90, 1, 36500),
        ),
        withdrawal_ordinary_posts=_bounded_int("FORUM_WITHDRAWAL_ORDINARY_POSTS", 3, 1, 10_000),
        controller_name=os.environ.get("FORUM_CONTROLLER_NAME", "").strip() or "Forum",
        controller_email=os.environ.get("FORUM_CONTROLLER_EMAIL", "").strip(),
        controller_address=os.environ.get("FORUM_CONTROLLER_ADDRESS", "").strip(),
        controller_phone=os.environ.get("FORUM_CONTROLLER_PHONE", "").strip(),
        jurisdiction=_country("FORUM_JURISDICTION", "NO"),
        employment_roles=_roles("FORUM_EMPLOYMENT_ROLES", ("staff", "admin")),
        email_verification=_bool("FORUM_EMAIL_VERIFICATION", True),
        mail_worker=_bool("FORUM_MAIL_WORKER", True),
        mail_dir=os.environ.get("FORUM_MAIL_DIR", ""),
        mail_delay=_float("FORUM_MAIL_DELAY_SECONDS", 300.0, 0, 86400, "a number of seconds"),
        mail_retry_hours=_float("FORUM_MAIL_RETRY_HOURS", 24.0, 0, 720, "a number of hours", low_open=True),
        mail_lease=_float("FORUM_MAIL_LEASE_SECONDS", 120.0, 5, 3600, "a number of seconds"),
        attachment_file_mb=_bounded_int("FORUM_ATTACHMENT_FILE_MB", 10, 1, 100),
        attachment_post_mb=_bounded_int("FORUM_ATTACHMENT_POST_MB", 25, 1, 500),
        attachments_per_post=_bounded_int("FORUM_ATTACHMENTS_PER_POST", 5, 0, 50),
        uploads_per_hour=_bounded_int("FORUM_UPLOADS_PER_HOUR", 30, 0, 10_000),
        image_max_megapixels=_bounded_int("FORUM_IMAGE_MAX_MEGAPIXELS", 50, 1, 400),
        ocr_worker=_bool("FORUM_OCR_WORKER", True),
        ocr_lease=_float("FORUM_OCR_LEASE_SECONDS", 300.0, 10, 3600, "a number of seconds"),
    )
    if values["db_pool_min"] > values["db_pool_max"]:
        raise SettingsError("FORUM_DB_POOL_MIN must not be larger than FORUM_DB_POOL_MAX")
    if "oidc" not in overrides:
        values["oidc"] = load_oidc_settings(overrides.get("public_url", values["public_url"]))
    values.update(overrides)
    if "secret_key" not in values:
        values["secret_key"] = load_secret_key(database_url)
    return Settings(**values)
