"""Settings: env over config file over defaults; the embedded secret is created once, 0600."""

from __future__ import annotations

import stat

import pytest

from bytespike.settings import SettingsError, load_settings


def test_embedded_default_generates_a_private_secret_once(tmp_path) -> None:
    env = {"BYTESPIKE_DATA_DIR": str(tmp_path)}
    first = load_settings(env)
    secret_file = tmp_path / "secret.key"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert load_settings(env).secret_key == first.secret_key
    assert first.database_url == f"sqlite:///{tmp_path / 'bytespike.db'}"
    assert first.is_embedded and first.redis_url is None


def test_environment_beats_config_file(tmp_path) -> None:
    cfg = tmp_path / "b.toml"
    cfg.write_text(
        '[server]\nport = 9000\nhost = "0.0.0.0"\nsecret_key = "from-file-0123456789"\n'
        '[upstreams.openai]\napi_key = "file-key"\n[[models]]\nslug = "x"\n'
    )
    s = load_settings(
        {"BYTESPIKE_DATA_DIR": str(tmp_path), "BYTESPIKE_PORT": "9100", "BYTESPIKE_CONFIG": str(cfg)}
    )
    assert (s.port, s.host, s.secret_key, s.openai.api_key) == (
        9100,
        "0.0.0.0",
        "from-file-0123456789",
        "file-key",
    )
    assert s.openai.base_url == "https://api.openai.com/v1"
    assert s.catalogue_extra["models"] == [{"slug": "x"}]


def test_vendor_variables_follow_the_sdks(tmp_path) -> None:
    s = load_settings(
        {
            "BYTESPIKE_DATA_DIR": str(tmp_path),
            "ANTHROPIC_API_KEY": "a",
            "ANTHROPIC_BASE_URL": "http://127.0.0.1:1/",
            "GEMINI_API_KEY": "g",
        }
    )
    assert (s.anthropic.api_key, s.anthropic.base_url) == ("a", "http://127.0.0.1:1")
    assert s.gemini.api_key == "g" and s.openai.api_key is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BYTESPIKE_DATABASE_URL": "mysql://x"}, "must start with"),
        ({"BYTESPIKE_DATABASE_URL": "sqlite:///relative.db"}, "absolute"),
        ({"BYTESPIKE_DATABASE_URL": "postgresql://u@h/db"}, "BYTESPIKE_SECRET_KEY is required"),
        ({"BYTESPIKE_PORT": "eighty"}, "BYTESPIKE_PORT must be an integer"),
        ({"BYTESPIKE_SECRET_KEY": "short"}, "at least 16"),
        ({"BYTESPIKE_CONFIG": "/nonexistent/b.toml"}, "config file not found"),
    ],
)
def test_bad_values_are_named(tmp_path, env, message) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings({"BYTESPIKE_DATA_DIR": str(tmp_path), **env})


def test_bad_toml_is_reported(tmp_path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[server\nport=")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings({"BYTESPIKE_DATA_DIR": str(tmp_path)}, config_path=cfg)


def test_response_retention_and_media_fetch_settings(tmp_path) -> None:
    defaults = load_settings({"BYTESPIKE_DATA_DIR": str(tmp_path)})
    assert defaults.response_retention_s == 30 * 86400
    assert (defaults.media_fetch_max_bytes, defaults.media_fetch_timeout_s) == (20 << 20, 10.0)
    assert defaults.media_fetch_allow_networks == ()
    cfg = tmp_path / "c.toml"
    cfg.write_text('[server]\nresponse_retention_days = 0\nmedia_fetch_allow_networks = ["10.1.0.0/16"]\n')
    s = load_settings(
        {
            "BYTESPIKE_DATA_DIR": str(tmp_path),
            "BYTESPIKE_CONFIG": str(cfg),
            "BYTESPIKE_MEDIA_FETCH_MAX_BYTES": "1048576",
            "BYTESPIKE_MEDIA_FETCH_TIMEOUT": "2.5",
        }
    )
    assert s.response_retention_s == 0
    assert (s.media_fetch_max_bytes, s.media_fetch_timeout_s) == (1 << 20, 2.5)
    assert s.media_fetch_allow_networks == ("10.1.0.0/16",)
    env = {"BYTESPIKE_DATA_DIR": str(tmp_path), "BYTESPIKE_MEDIA_FETCH_ALLOW_NETWORKS": "127.0.0.1, ::1/128"}
    assert load_settings(env).media_fetch_allow_networks == ("127.0.0.1/32", "::1/128")
    with pytest.raises(SettingsError, match="BYTESPIKE_MEDIA_FETCH_ALLOW_NETWORKS"):
        load_settings({**env, "BYTESPIKE_MEDIA_FETCH_ALLOW_NETWORKS": "intranet"})
    with pytest.raises(SettingsError, match="BYTESPIKE_RESPONSE_RETENTION_DAYS"):
        load_settings({**env, "BYTESPIKE_RESPONSE_RETENTION_DAYS": "-1"})
