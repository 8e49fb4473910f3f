"""Property and state-machine tests of the store."""
