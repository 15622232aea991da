"""Fault scenarios: real hub and node processes behind fault-injecting proxies, killed at
named crash points, their links broken, their disks filled; every scenario ends with the
invariant checker reading every store. See docs/reliability.md."""
