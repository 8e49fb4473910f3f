"""The audit of apps that keep their own job state: sampled, planted at task level, judged."""
