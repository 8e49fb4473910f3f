"""Shared test settings for the project's own suite (fixtures come from the plugin)."""
