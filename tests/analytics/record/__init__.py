"""Recording an event: scrubbing, the line written, privacy (analytics/record)."""
