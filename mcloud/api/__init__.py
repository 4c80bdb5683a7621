"""The JSON API (django-ninja): the same services and role checks as the HTML pages, for
scripts and CI pipelines, with OpenAPI at /api/openapi.json and docs at /api/docs."""
