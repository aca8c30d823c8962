"""WSGI entry point for several workers: ``gunicorn -w 4 -b 127.0.0.1:8050 ua_coverage.app.wsgi:server``.

The store comes from the environment (``UA_COVERAGE_DATABASE_URL`` for PostGIS, ``UA_COVERAGE_DATA_DIR``
for the data directory that holds the session key and pending uploads, shared by the workers).
Every worker keeps its own caches keyed by revision id, so a commit made through any worker is seen
by all of them on their next request.
"""
from . import create_app

app = create_app()
server = app.server
