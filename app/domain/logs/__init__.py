"""Request and event logs: embedded shipping into ClickHouse and `GET /logs`."""
