"""The running socialcrm service: settings, storage, ingest, event bus, auth and CLI."""
