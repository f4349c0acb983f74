"""Use cases of the catalogue service: keyword-only functions over a UnitOfWork, called by routes and handlers."""
