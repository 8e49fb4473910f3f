"""The browser side: which Chromium, page objects, the live web app (no pytest)."""
