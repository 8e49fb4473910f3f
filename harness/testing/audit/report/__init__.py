"""The report card: one data model, rendered as JSON, Markdown, terminal text and HTML."""
