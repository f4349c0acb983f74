"""Rules of the assessment service (no I/O): indicator systems, inspections, satisfaction surveys, multi-party scoring and published results."""
