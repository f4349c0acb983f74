"""Use cases of the registry service: keyword-only functions over a UnitOfWork, called by routes and handlers."""
