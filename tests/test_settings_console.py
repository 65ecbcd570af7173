"""The console's settings (docs/console.md): environment names and defaults."""

from __future__ import annotations

from bytespike.settings import load_settings


def test_console_defaults(tmp_path) -> None:
    c = load_settings(environ={"BYTESPIKE_DATA_DIR": str(tmp_path)}).console
    assert c.smtp_url is None and c.invite_only is False and c.public_url is None
    assert c.stripe_secret_key is None and c.dev_payments is None
    assert c.google_client_id is None and c.google_issuer == "https://accounts.google.com"


def test_console_environment(tmp_path) -> None:
    c = load_settings(
        environ={
            "BYTESPIKE_DATA_DIR": str(tmp_path),
            "BYTESPIKE_SMTP_URL": "smtp://u:p@mail.example:587",
            "BYTESPIKE_INVITE_ONLY": "true",
            "BYTESPIKE_PUBLIC_URL": "https://console.example/",
            "BYTESPIKE_STRIPE_SECRET_KEY": "sk_live_x",
            "BYTESPIKE_STRIPE_WEBHOOK_SECRET": "whsec_x",
            "BYTESPIKE_DEV_PAYMENTS": "0",
            "BYTESPIKE_GOOGLE_CLIENT_ID": "id",
            "BYTESPIKE_GOOGLE_CLIENT_SECRET": "secret",
            "BYTESPIKE_GOOGLE_ISSUER": "https://issuer.example/",
        }
    ).console
    assert c.smtp_url == "smtp://u:p@mail.example:587" and c.invite_only is True
    assert c.public_url == "https://console.example"
    assert (c.stripe_secret_key, c.stripe_webhook_secret, c.dev_payments) == ("sk_live_x", "whsec_x", False)
    assert (c.google_client_id, c.google_client_secret, c.google_issuer) == ("id", "secret", "https://issuer.example")
