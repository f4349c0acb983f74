"""Use cases of the contract service: keyword-only functions over a UnitOfWork, called by routes and handlers."""
