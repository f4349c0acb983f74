"""The assessment service: indicator systems, inspections, satisfaction surveys, multi-party scoring
and published results."""
