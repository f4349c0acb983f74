"""The registry service: suppliers, qualification review, blacklist, performance history and next-cycle eligibility."""
