"""What users look at: `analytics status` and `/analytics`, the last delivery, and
`analytics report`."""
