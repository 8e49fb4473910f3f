"""Web UI for jobstate: a JSON API and one polling page."""
