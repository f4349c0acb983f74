"""Rules of the catalogue service (no I/O): the three-level guidance catalogue, the negative list, versions and publication."""
