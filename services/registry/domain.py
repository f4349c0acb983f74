"""Rules of the registry service (no I/O): suppliers, qualification review, blacklist, performance history and next-cycle eligibility."""
