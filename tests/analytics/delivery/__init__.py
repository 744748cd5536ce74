"""Delivery by the detached uploader, against the strict loopback stand-ins (analytics/delivery)."""
