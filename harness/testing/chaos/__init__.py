"""Faults and their verdicts: the injector, the relay, the tally and its report (no pytest)."""
