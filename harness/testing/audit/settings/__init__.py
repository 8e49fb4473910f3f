"""The check of an app's Celery settings: one finding per check, each with its fix."""
