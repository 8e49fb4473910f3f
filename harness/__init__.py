"""pytest-jobstate: fixtures, strategies and state machines that prove job state honest."""
