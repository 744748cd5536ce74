"""Delivery, in the detached uploader: claim the waiting events, send each to the destination it
was recorded for through one sink per service, retry by HTTP status, and save the outcome."""
