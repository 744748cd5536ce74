"""The queue on disk: the spool, progress, damage it survives (analytics/queue)."""
