"""Chat sources: connectors that turn a platform's live chat (or a file) into streamwatch events."""
