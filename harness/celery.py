"""Placeholder while the celery fixtures are written."""
