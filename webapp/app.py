"""Flask application factory (flaskr style): `create_app(test_config=None)`."""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template

from webapp.config import Settings


def create_app(
    test_config: dict[str, Any] | None = None, *, settings: Settings | None = None
) -> Flask:
    """Build the site. `test_config` may carry `SETTINGS` (a Settings) and Flask keys."""
    app = Flask(__name__)
    if settings is None:
        settings = (test_config or {}).get("SETTINGS") or Settings.from_env()
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key,
        SETTINGS=settings,
        JSON_AS_ASCII=False,
    )
    if test_config:
        app.config.update(test_config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    from webapp import data, views

    data.init_app(app)
    app.register_blueprint(views.bp)
    _register_blueprint_modules(app)

    @app.errorhandler(404)
    def not_found(error: Any) -> tuple[str, int]:
        return render_template(
            "error.html", code=404, message=getattr(error, "description", "")
        ), 404

    @app.errorhandler(500)
    def server_error(error: Any) -> tuple[str, int]:
        return render_template("error.html", code=500, message="Interner Fehler."), 500

    @app.after_request
    def security_headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
        )
        return response

    return app


def _register_blueprint_modules(app: Flask) -> None:
    """Register the ``bp`` of every module in ``webapp/blueprints``."""
    import importlib
    import pkgutil

    from webapp import blueprints

    for info in sorted(pkgutil.iter_modules(blueprints.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"webapp.blueprints.{info.name}")
        app.register_blueprint(module.bp)
