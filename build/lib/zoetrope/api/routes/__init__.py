"""The `/v1` routes: thin functions that parse, authorise, call a service and return a schema."""
