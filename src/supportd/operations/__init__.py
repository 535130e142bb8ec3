"""Operation handlers: validate against the domain, call the store, return plain dicts."""
