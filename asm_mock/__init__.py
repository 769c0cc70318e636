"""asm-mock: a contract-first mock server for the SAP Commerce Cloud Assisted Service Module API."""

__version__ = "0.1.0"
