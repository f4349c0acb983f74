"""Use cases of the assessment service: keyword-only functions over a UnitOfWork, called by routes and handlers."""
