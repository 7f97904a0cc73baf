"""The notification hook: tell operators about runs that failed or are unhealthy.

Every notice is logged (logger ``mintsuche.notify``, level WARNING). Optionally it is also

- POSTed as JSON to ``MINTSUCHE_WEBHOOK_URL`` (``{"source", "status", "run_id", "items",
  "error", "health": [...], "text"}``; 10 s timeout),
- e-mailed via SMTP when ``MINTSUCHE_SMTP_HOST`` and ``MINTSUCHE_SMTP_TO`` are set
  (``MINTSUCHE_SMTP_PORT`` default 25, ``MINTSUCHE_SMTP_FROM`` default
  ``mintsuche@localhost``, ``MINTSUCHE_SMTP_TO`` comma-separated, ``MINTSUCHE_SMTP_USER`` /
  ``MINTSUCHE_SMTP_PASSWORD`` for login, ``MINTSUCHE_SMTP_STARTTLS=1`` for STARTTLS).

How it fails: a webhook or mail error is logged and reported in the returned list; it
never raises, so a broken hook cannot stop the scheduler.
"""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

logger = logging.getLogger("mintsuche.notify")


@dataclass(frozen=True)
class NotifyConfig:
    """Where notices go besides the log."""

    webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "mintsuche@localhost"
    smtp_to: tuple[str, ...] = ()
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    timeout: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> NotifyConfig:
        """Read the ``MINTSUCHE_WEBHOOK_URL`` / ``MINTSUCHE_SMTP_*`` variables."""
        port = env.get("MINTSUCHE_SMTP_PORT", "").strip()
        return cls(
            webhook_url=env.get("MINTSUCHE_WEBHOOK_URL", "").strip() or None,
            smtp_host=env.get("MINTSUCHE_SMTP_HOST", "").strip() or None,
            smtp_port=int(port) if port else 25,
            smtp_from=env.get("MINTSUCHE_SMTP_FROM", "").strip() or "mintsuche@localhost",
            smtp_to=tuple(
                a.strip() for a in env.get("MINTSUCHE_SMTP_TO", "").split(",") if a.strip()
            ),
            smtp_user=env.get("MINTSUCHE_SMTP_USER", "").strip() or None,
            smtp_password=env.get("MINTSUCHE_SMTP_PASSWORD") or None,
            smtp_starttls=env.get("MINTSUCHE_SMTP_STARTTLS", "").strip() in {"1", "true", "yes"},
        )


def notice_text(event: Mapping[str, Any]) -> str:
    """The one-line German text of a run notice."""
    return (
        f"MINT-Suche: Lauf von {event.get('source')} {event.get('status')} "
        f"({event.get('items', 0)} Datensätze): {event.get('error') or 'ohne Fehlertext'}"
    )


def notice_payload(event: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body sent to the webhook."""
    stats = event.get("stats") or {}
    return {
        "source": event.get("source"),
        "status": event.get("status"),
        "run_id": event.get("run_id"),
        "items": event.get("items", 0),
        "error": event.get("error"),
        "health": list(stats.get("health") or []),
        "text": notice_text(event),
    }


def notify_run(event: Mapping[str, Any], config: NotifyConfig) -> list[str]:
    """Send a notice about a run ``event`` (a ``crawlers.run`` run event); return errors."""
    text = notice_text(event)
    logger.warning("%s", text)
    problems: list[str] = []
    if config.webhook_url:
        try:
            _post_webhook(config, notice_payload(event))
        except Exception as exc:  # noqa: BLE001 - reported, never fatal
            problems.append(f"webhook {config.webhook_url}: {type(exc).__name__}: {exc}")
    if config.smtp_host and config.smtp_to:
        try:
            _send_mail(
                config,
                subject=f"MINT-Suche: {event.get('source')} {event.get('status')}",
                body=text,
            )
        except Exception as exc:  # noqa: BLE001 - reported, never fatal
            problems.append(f"smtp {config.smtp_host}: {type(exc).__name__}: {exc}")
    for problem in problems:
        logger.error("notification failed: %s", problem)
    return problems


def _post_webhook(config: NotifyConfig, payload: dict[str, Any]) -> None:
    assert config.webhook_url is not None
    request = urllib.request.Request(
        config.webhook_url,
        data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=config.timeout) as response:  # noqa: S310
        if response.status >= 300:
            raise RuntimeError(f"HTTP {response.status}")


def _send_mail(config: NotifyConfig, *, subject: str, body: str) -> None:
    assert config.smtp_host is not None
    message = EmailMessage()
    message["From"] = config.smtp_from
    message["To"] = ", ".join(config.smtp_to)
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=config.timeout) as smtp:
        if config.smtp_starttls:
            smtp.starttls()
        if config.smtp_user:
            smtp.login(config.smtp_user, config.smtp_password or "")
        smtp.send_message(message)
