"""Rules that hold whatever the transport: access, validation, errors, the write paths."""
