"""The stub's REST API: the router (:mod:`.server`) and the routes, one module per area."""
