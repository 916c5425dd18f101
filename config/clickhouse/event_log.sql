-- One row per business event: the "event" line of the log contract (README), minus "kind".
-- Applied by app.lib.clickhouse.apply_schema, which substitutes __RETENTION_DAYS__ with an integer.
-- context is the event's JSON object as text; user_id is '' when the event belongs to no user.
CREATE TABLE IF NOT EXISTS event_log
(
    ts          DateTime64(6, 'UTC') CODEC(Delta, ZSTD),
    level       LowCardinality(String),
    source      LowCardinality(String),
    event       LowCardinality(String),
    message     String,
    context     String,
    user_id     String DEFAULT '',
    profile_id  Nullable(String),
    channel_id  Nullable(String),
    request_id  Nullable(String),
    -- surrogate key for keyset pagination; filled by the server, never sent by the app
    row_id      UUID DEFAULT generateUUIDv4()
)
ENGINE = MergeTree
PARTITION BY toDate(ts)
ORDER BY (user_id, ts)
TTL toDateTime(ts) + INTERVAL __RETENTION_DAYS__ DAY
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;
