"""Placeholder while the ui fixtures are written."""
