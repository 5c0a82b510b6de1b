"""Browser views: thin (parse the request, call one service, render)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from hrpipeline.web import views

    app.register_blueprint(views.bp)
