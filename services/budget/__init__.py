"""The budget service: budget lines, two-up-two-down, thresholds and filings, the funds ledger, disclosure
and statistics."""
