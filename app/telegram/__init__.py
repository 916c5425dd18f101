"""The only package that imports Telethon: client factory, runtime (clients, leases, reconnect), error mapping."""
