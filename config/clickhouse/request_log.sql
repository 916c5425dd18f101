-- One row per HTTP request: the "request" line of the log contract (README), minus "kind".
-- Applied by app.lib.clickhouse.apply_schema, which substitutes __RETENTION_DAYS__ with an integer.
-- user_id is '' for anonymous requests (JSON null inserts as the default), so it can lead the sort key:
-- GET /logs always filters by one user unless the caller is an admin, then scans by time.
CREATE TABLE IF NOT EXISTS request_log
(
    ts          DateTime64(6, 'UTC') CODEC(Delta, ZSTD),
    request_id  String,
    method      LowCardinality(String),
    path        String,
    route       LowCardinality(String),
    status      UInt16,
    duration_ms Float64,
    user_id     String DEFAULT '',
    ip          String,
    user_agent  String,
    -- surrogate key for keyset pagination; filled by the server, never sent by the app
    row_id      UUID DEFAULT generateUUIDv4()
)
ENGINE = MergeTree
PARTITION BY toDate(ts)
ORDER BY (user_id, ts)
TTL toDateTime(ts) + INTERVAL __RETENTION_DAYS__ DAY
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;
