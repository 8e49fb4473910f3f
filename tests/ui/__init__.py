"""Tests of the web app: its JSON API without a browser (api/), its page in Chromium (page/)."""
