"""What users look at: status, send's words, the report (analytics/views)."""
