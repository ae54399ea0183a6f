"""The HTTP face: `cqrs serve`, the query API and the dashboard page (docs/serve.md)."""
