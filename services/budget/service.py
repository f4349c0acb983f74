"""Use cases of the budget service: keyword-only functions over a UnitOfWork, called by routes and handlers."""
