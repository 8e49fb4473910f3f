"""The web app's API, headers, server and browser choice (fast tier, no browser)."""
