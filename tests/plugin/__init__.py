"""The plugin driven through pytester."""
