"""Placeholder while the redis fixtures are written."""
