"""Recording one event: scrub what the caller passed, stamp it, and write the user's own audit
log. Local work only; nothing here decides whether the event may leave."""
