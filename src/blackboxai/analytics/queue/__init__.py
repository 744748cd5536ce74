"""The queue on disk: a session's outbox appends to the bounded spool (consent re-checked), the
waiting events are read back once each, and a detached uploader is launched to send them."""
