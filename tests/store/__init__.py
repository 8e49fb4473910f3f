"""Store behaviour on every Redis backend."""
