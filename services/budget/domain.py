"""Rules of the budget service (no I/O): budget lines, two-up-two-down, thresholds and filings, the funds ledger, disclosure and statistics."""
