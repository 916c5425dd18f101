"""Channel monitoring: join, backfill, capture, failover and handover of monitored channels."""
