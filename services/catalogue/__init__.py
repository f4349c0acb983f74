"""The catalogue service: the three-level guidance catalogue, the negative list, versions and publication."""
