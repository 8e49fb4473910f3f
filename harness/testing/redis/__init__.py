"""Real Redis topologies for tests: Cluster, Sentinel, ACLs (no pytest)."""
