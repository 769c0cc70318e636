"""The served OpenAPI contract: its schemas, operations and generated values."""
