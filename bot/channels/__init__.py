"""Channel adapters: provider payloads in, ``IncomingMessage``; outbox rows out, provider calls."""
