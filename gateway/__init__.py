"""The gateway: one entry point in front of the five services (routing, authentication, rate limits,
request ids, access logs, audit trail of writes, merged OpenAPI, public disclosure API and portal)."""
