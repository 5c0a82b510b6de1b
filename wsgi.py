"""WSGI entry point for production servers: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Configuration comes from ``instance/config.py`` and ``DATABASE_URL`` / ``HRPIPELINE_*``
environment variables, as for ``flask --app hrpipeline`` (see the README).
"""

from hrpipeline import create_app

app = create_app()
