"""HTTP routes of the core service; each module defines ``router`` (thin: parse, call domain)."""
