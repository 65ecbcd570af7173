"""Configuration: the only reader of the environment and of the optional TOML config file.

Precedence, highest first: explicit overrides (CLI flags), environment variables, the config
file (``BYTESPIKE_CONFIG`` or ``--config``), built-in defaults. Names of the environment
variables are the stable interface of DESIGN.md §4; upstream credentials follow the official
SDKs' own variables so an existing shell setup just works.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

SECRET_FILE_NAME = "secret.key"
DEFAULT_DB_FILE_NAME = "bytespike.db"
CORE_VENDORS = ("anthropic", "openai", "gemini", "deepseek")
"""Vendors with a protocol and fields of their own (DESIGN.md §4)."""
OPENAI_COMPATIBLE_VENDORS = {
    "doubao": "https://ark.cn-beijing.volces.com/api/v3",
    "minimax": "https://api.minimax.io/v1",
    "zhipu": "https://open.bigmodel.cn/api/paas/v4",
    "moonshot": "https://api.moonshot.ai/v1",
}
"""Built-in OpenAI-compatible vendors (the catalogue's doubao/minimax/glm/kimi models) and their
default base URL, which includes the API version path like ``OPENAI_BASE_URL``: the gateway
appends ``/chat/completions``. Any other ``[upstreams.<name>]`` block names one more."""


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names it."""


@dataclass(frozen=True, slots=True)
class UpstreamCredentials:
    """Where one vendor lives and how to authenticate to it."""

    api_key: str | None
    """The vendor key; ``None`` means this vendor is not configured."""
    base_url: str
    """Origin (Anthropic, Gemini, DeepSeek) or origin + ``/v1`` (OpenAI), as the SDKs expect."""


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    """The web console's outside world (docs/console.md); every value optional."""

    smtp_url: str | None = None
    """``smtp://user:pass@host:port`` (STARTTLS when offered) or ``smtps://…``; ``None`` logs mail."""
    mail_from: str = "bytespike@localhost"
    invite_only: bool = False
    """Sign-up needs an invite code ``BS-XXXX-XXXX`` (spec §8)."""
    public_url: str | None = None
    """Origin browsers reach the console at (OIDC redirect and Stripe return URLs); default host:port."""
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None
    """Only for tests against a local stand-in of the Stripe API."""
    dev_payments: bool | None = None
    """The development payment provider; default: on only without Stripe keys on the embedded default."""
    google_client_id: str | None = None
    google_client_secret: str | None = None
    google_issuer: str = "https://accounts.google.com"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the process needs to know about its environment."""

    data_dir: Path
    """Directory for the embedded SQLite database and the generated secret."""
    database_url: str
    """``sqlite:///ABS/PATH`` (embedded default) or ``postgresql://…``."""
    redis_url: str | None
    """Shared hot state; ``None`` means in-process state (single worker only)."""
    secret_key: str
    """Server secret: keys' HMAC lookup digests and AES-GCM reveal copies derive from it."""
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    demo: bool = False
    """Serve every catalogue model from the built-in simulator, whatever keys are configured."""
    anthropic: UpstreamCredentials = field(
        default_factory=lambda: UpstreamCredentials(None, "https://api.anthropic.com")
    )
    openai: UpstreamCredentials = field(
        default_factory=lambda: UpstreamCredentials(None, "https://api.openai.com/v1")
    )
    gemini: UpstreamCredentials = field(
        default_factory=lambda: UpstreamCredentials(None, "https://generativelanguage.googleapis.com")
    )
    deepseek: UpstreamCredentials = field(
        default_factory=lambda: UpstreamCredentials(None, "https://api.deepseek.com")
    )
    compatible: Mapping[str, UpstreamCredentials] = field(default_factory=dict)
    """OpenAI-compatible vendors by provider name (catalogue ``provider``), each from
    ``<NAME>_API_KEY``/``<NAME>_BASE_URL`` or ``[upstreams.<name>]``; only configured ones (with a key)."""
    max_body_bytes: int = 32 * 1024 * 1024
    """Text and image surfaces (spec §3.0 suggests a generous 32 MiB)."""
    upstream_connect_timeout_s: float = 10.0
    upstream_read_timeout_s: float = 300.0
    """Longest silence tolerated between upstream bytes."""
    key_cache_ttl_s: float = 1.0
    """How long a resolved key stays in the in-process cache before it is re-read."""
    wallet_cache_ttl_s: float = 2.0
    """How often the ledger is polled for wallet movements made elsewhere (and account caps re-read)."""
    redis_prefix: str = "bytespike:"
    """Every hot-state key in Redis starts with this (tests use a fresh one each)."""
    redis_fail_open: bool = False
    """Admit requests without holds while Redis is unreachable instead of answering 503."""
    redis_timeout_s: float = 2.0
    """Connect and command timeout for the hot state in Redis."""
    hold_ttl_s: float = 60.0
    """Holds and concurrency leases expire this long after their last renewal (a dead process's)."""
    config_path: str | None = None
    """The config file these settings were read from (worker processes read it again)."""
    trusted_proxies: tuple[str, ...] = ()
    """CIDRs whose ``X-Forwarded-For`` is believed."""
    management_rate_per_minute: int = 600
    """Management API calls allowed per key (per address for sign-in) per minute (spec §3.9)."""
    catalogue_extra: Mapping[str, Any] = field(default_factory=dict)
    """``[[models]]`` and ``[groups]`` tables from the config file, merged over the built-in catalogue."""
    log_level: str = "info"
    media_fetch_max_bytes: int = 20 << 20
    """Largest image or PDF fetched by URL for a Gemini upstream (``BYTESPIKE_MEDIA_FETCH_MAX_BYTES``)."""
    media_fetch_timeout_s: float = 10.0
    """Time allowed for one such fetch, redirects included (``BYTESPIKE_MEDIA_FETCH_TIMEOUT``)."""
    media_fetch_allow_networks: tuple[str, ...] = ()
    """Non-public networks (CIDRs) a fetch may reach anyway (``BYTESPIKE_MEDIA_FETCH_ALLOW_NETWORKS``);
    by default private, loopback and link-local addresses are refused."""
    response_retention_s: float = 30 * 86400.0
    """How long a ``POST /v1/responses`` conversation is kept for ``previous_response_id`` after
    its last turn (``BYTESPIKE_RESPONSE_RETENTION_DAYS``, default 30 like OpenAI's); 0 stores none."""
    console: ConsoleSettings = field(default_factory=lambda: ConsoleSettings())
    """Web console: mail, invite-only sign-up, public URL, Stripe and Google sign-in."""

    @property
    def is_embedded(self) -> bool:
        """True on the embedded default: SQLite file and in-process state."""
        return self.database_url.startswith("sqlite") and self.redis_url is None

    @property
    def sqlite_path(self) -> Path | None:
        if not self.database_url.startswith("sqlite:///"):
            return None
        return Path(self.database_url.removeprefix("sqlite:///"))

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise SettingsError(f"config file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from exc


def _int(name: str, raw: Any) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc
    if value < 0:
        raise SettingsError(f"{name} must not be negative, got {value}")
    return value


def _float(name: str, raw: Any) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from exc
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {value}")
    return value


def _days(name: str, raw: Any) -> float:
    """A non-negative number of days, in seconds."""
    try:
        value = float(raw)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{name} must be a number of days, got {raw!r}") from exc
    if not value >= 0:
        raise SettingsError(f"{name} must not be negative, got {raw!r}")
    return value * 86400.0


def _networks(name: str, raw: Any) -> tuple[str, ...]:
    """CIDRs from a comma-separated string or a list, each checked."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    networks = []
    for item in (str(i).strip() for i in items):
        if not item:
            continue
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError as exc:
            raise SettingsError(f"{name}: {item!r} is not a network address (CIDR)") from exc
    return tuple(networks)


def _normalize_database_url(url: str) -> str:
    if url.startswith(("sqlite:///", "postgresql://", "postgresql+asyncpg://", "postgres://")):
        return url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url
    raise SettingsError(
        f"BYTESPIKE_DATABASE_URL must start with sqlite:/// or postgresql://, got {url.split(':', 1)[0]!r}"
    )


def ensure_secret_key(data_dir: Path) -> str:
    """Read the embedded default's server secret, creating it (0600) on first use."""
    path = data_dir / SECRET_FILE_NAME
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting together must not write two different secrets.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secret + "\n")
    return secret


WORKER_SETTINGS_ENV = "BYTESPIKE_WORKER_SETTINGS"
"""How ``serve --workers N`` hands its command-line overrides to the worker processes."""


def settings_for_child(settings: Settings) -> str:
    """What a child process needs (in `WORKER_SETTINGS_ENV`) to rebuild exactly these settings."""
    return json.dumps(
        {
            "config": settings.config_path,
            "host": settings.host,
            "port": settings.port,
            "workers": settings.workers,
            "demo": settings.demo,
        }
    )


def share_with_workers(settings: Settings) -> None:
    """Let worker processes (which inherit the environment) rebuild exactly these settings."""
    os.environ[WORKER_SETTINGS_ENV] = settings_for_child(settings)


def worker_settings() -> Settings:
    """The settings of the ``serve`` process that started this worker."""
    shared = json.loads(os.environ.get(WORKER_SETTINGS_ENV) or "{}")
    return load_settings(config_path=shared.pop("config", None)).with_overrides(**shared)


def load_settings(
    environ: Mapping[str, str] | None = None, config_path: str | Path | None = None
) -> Settings:
    """Build `Settings` from the environment (default ``os.environ``) and the config file."""
    env = os.environ if environ is None else environ
    config_file = config_path or env.get("BYTESPIKE_CONFIG")
    file_cfg: dict[str, Any] = _read_config_file(Path(config_file)) if config_file else {}
    server = file_cfg.get("server", {})
    upstreams = file_cfg.get("upstreams", {})

    def pick(env_name: str, file_value: Any = None, default: Any = None) -> Any:
        value = env.get(env_name)
        if value not in (None, ""):
            return value
        return default if file_value is None else file_value

    data_dir = (
        Path(pick("BYTESPIKE_DATA_DIR", server.get("data_dir"), Path.home() / ".local/share/bytespike"))
        .expanduser()
        .resolve()
    )
    database_url = _normalize_database_url(
        pick(
            "BYTESPIKE_DATABASE_URL",
            server.get("database_url"),
            f"sqlite:///{data_dir / DEFAULT_DB_FILE_NAME}",
        )
    )
    if database_url.startswith("sqlite:///"):
        db_path = Path(database_url.removeprefix("sqlite:///"))
        if not db_path.is_absolute():
            raise SettingsError(f"BYTESPIKE_DATABASE_URL must hold an absolute path, got {db_path}")
    redis_url = pick("BYTESPIKE_REDIS_URL", server.get("redis_url"))
    secret_key = pick("BYTESPIKE_SECRET_KEY", server.get("secret_key"))
    if not secret_key:
        if not database_url.startswith("sqlite:///"):
            raise SettingsError(
                "BYTESPIKE_SECRET_KEY is required when the database is not the embedded SQLite file"
            )
        secret_key = ensure_secret_key(Path(database_url.removeprefix("sqlite:///")).parent)
    if len(secret_key) < 16:
        raise SettingsError("BYTESPIKE_SECRET_KEY must be at least 16 characters")

    def creds(vendor: str, default_base: str) -> UpstreamCredentials:
        block = upstreams.get(vendor.lower(), {})
        return UpstreamCredentials(
            api_key=pick(f"{vendor}_API_KEY", block.get("api_key")),
            base_url=str(pick(f"{vendor}_BASE_URL", block.get("base_url"), default_base)).rstrip("/"),
        )

    compatible = {}
    for name in sorted({*OPENAI_COMPATIBLE_VENDORS, *upstreams} - set(CORE_VENDORS)):
        block = upstreams.get(name, {})
        if not isinstance(block, Mapping):
            raise SettingsError(f"[upstreams.{name}] must be a table with api_key and base_url")
        env_name = "".join(c if c.isalnum() else "_" for c in name.upper())
        base_url = pick(f"{env_name}_BASE_URL", block.get("base_url"), OPENAI_COMPATIBLE_VENDORS.get(name))
        if not base_url:
            raise SettingsError(f"[upstreams.{name}] needs a base_url (OpenAI-compatible, including /v1)")
        api_key = pick(f"{env_name}_API_KEY", block.get("api_key"))
        if api_key:
            compatible[name] = UpstreamCredentials(str(api_key), str(base_url).rstrip("/"))

    proxies = pick("BYTESPIKE_TRUSTED_PROXIES", server.get("trusted_proxies"), ())
    if isinstance(proxies, str):
        proxies = tuple(p.strip() for p in proxies.split(",") if p.strip())
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_url or None,
        secret_key=secret_key,
        host=str(pick("BYTESPIKE_HOST", server.get("host"), "127.0.0.1")),
        port=_int("BYTESPIKE_PORT", pick("BYTESPIKE_PORT", server.get("port"), 8080)),
        workers=max(1, _int("BYTESPIKE_WORKERS", pick("BYTESPIKE_WORKERS", server.get("workers"), 1))),
        demo=str(pick("BYTESPIKE_DEMO", server.get("demo"), "")).lower() in ("1", "true", "yes"),
        anthropic=creds("ANTHROPIC", "https://api.anthropic.com"),
        openai=creds("OPENAI", "https://api.openai.com/v1"),
        gemini=creds("GEMINI", "https://generativelanguage.googleapis.com"),
        deepseek=creds("DEEPSEEK", "https://api.deepseek.com"),
        compatible=compatible,
        max_body_bytes=_int(
            "BYTESPIKE_MAX_BODY_BYTES",
            pick("BYTESPIKE_MAX_BODY_BYTES", server.get("max_body_bytes"), 32 << 20),
        ),
        upstream_connect_timeout_s=_float(
            "BYTESPIKE_UPSTREAM_CONNECT_TIMEOUT",
            pick("BYTESPIKE_UPSTREAM_CONNECT_TIMEOUT", server.get("upstream_connect_timeout_s"), 10.0),
        ),
        upstream_read_timeout_s=_float(
            "BYTESPIKE_UPSTREAM_READ_TIMEOUT",
            pick("BYTESPIKE_UPSTREAM_READ_TIMEOUT", server.get("upstream_read_timeout_s"), 300.0),
        ),
        key_cache_ttl_s=_float(
            "BYTESPIKE_KEY_CACHE_TTL", pick("BYTESPIKE_KEY_CACHE_TTL", server.get("key_cache_ttl_s"), 1.0)
        ),
        wallet_cache_ttl_s=_float(
            "BYTESPIKE_WALLET_CACHE_TTL",
            pick("BYTESPIKE_WALLET_CACHE_TTL", server.get("wallet_cache_ttl_s"), 2.0),
        ),
        redis_prefix=str(pick("BYTESPIKE_REDIS_PREFIX", server.get("redis_prefix"), "bytespike:")),
        redis_fail_open=str(pick("BYTESPIKE_REDIS_FAIL_OPEN", server.get("redis_fail_open"), "")).lower()
        in ("1", "true", "yes"),
        redis_timeout_s=_float(
            "BYTESPIKE_REDIS_TIMEOUT", pick("BYTESPIKE_REDIS_TIMEOUT", server.get("redis_timeout_s"), 2.0)
        ),
        hold_ttl_s=_float("BYTESPIKE_HOLD_TTL", pick("BYTESPIKE_HOLD_TTL", server.get("hold_ttl_s"), 60.0)),
        config_path=str(config_file) if config_file else None,
        trusted_proxies=tuple(proxies),
        management_rate_per_minute=max(
            1,
            _int(
                "BYTESPIKE_MANAGEMENT_RATE_LIMIT",
                pick("BYTESPIKE_MANAGEMENT_RATE_LIMIT", server.get("management_rate_per_minute"), 600),
            ),
        ),
        catalogue_extra={k: file_cfg[k] for k in ("models", "groups") if k in file_cfg},
        log_level=str(pick("BYTESPIKE_LOG_LEVEL", server.get("log_level"), "info")),
        media_fetch_max_bytes=_int(
            "BYTESPIKE_MEDIA_FETCH_MAX_BYTES",
            pick("BYTESPIKE_MEDIA_FETCH_MAX_BYTES", server.get("media_fetch_max_bytes"), 20 << 20),
        ),
        media_fetch_timeout_s=_float(
            "BYTESPIKE_MEDIA_FETCH_TIMEOUT",
            pick("BYTESPIKE_MEDIA_FETCH_TIMEOUT", server.get("media_fetch_timeout_s"), 10.0),
        ),
        media_fetch_allow_networks=_networks(
            "BYTESPIKE_MEDIA_FETCH_ALLOW_NETWORKS",
            pick("BYTESPIKE_MEDIA_FETCH_ALLOW_NETWORKS", server.get("media_fetch_allow_networks"), ()),
        ),
        response_retention_s=_days(
            "BYTESPIKE_RESPONSE_RETENTION_DAYS",
            pick("BYTESPIKE_RESPONSE_RETENTION_DAYS", server.get("response_retention_days"), 30),
        ),
        console=_console_settings(pick, file_cfg.get("console", {})),
    )


def _console_settings(pick: Any, cfg: Mapping[str, Any]) -> ConsoleSettings:
    def flag(env_name: str, key: str) -> bool | None:
        raw = pick(env_name, cfg.get(key))
        if raw is None:
            return None
        return str(raw).lower() in ("1", "true", "yes", "on")

    public_url = pick("BYTESPIKE_PUBLIC_URL", cfg.get("public_url"))
    return ConsoleSettings(
        smtp_url=pick("BYTESPIKE_SMTP_URL", cfg.get("smtp_url")),
        mail_from=str(pick("BYTESPIKE_MAIL_FROM", cfg.get("mail_from"), "bytespike@localhost")),
        invite_only=bool(flag("BYTESPIKE_INVITE_ONLY", "invite_only")),
        public_url=str(public_url).rstrip("/") if public_url else None,
        stripe_secret_key=pick("BYTESPIKE_STRIPE_SECRET_KEY", cfg.get("stripe_secret_key")),
        stripe_webhook_secret=pick("BYTESPIKE_STRIPE_WEBHOOK_SECRET", cfg.get("stripe_webhook_secret")),
        stripe_api_base=pick("BYTESPIKE_STRIPE_API_BASE", cfg.get("stripe_api_base")),
        dev_payments=flag("BYTESPIKE_DEV_PAYMENTS", "dev_payments"),
        google_client_id=pick("BYTESPIKE_GOOGLE_CLIENT_ID", cfg.get("google_client_id")),
        google_client_secret=pick("BYTESPIKE_GOOGLE_CLIENT_SECRET", cfg.get("google_client_secret")),
        google_issuer=str(
            pick("BYTESPIKE_GOOGLE_ISSUER", cfg.get("google_issuer"), "https://accounts.google.com")
        ).rstrip("/"),
    )
