"""The audit: a team's own pipeline through every fault, its settings checked, one report card."""
