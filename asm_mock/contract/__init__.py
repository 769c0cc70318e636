"""The contract model: the served OpenAPI document, compiled once for every consumer."""
