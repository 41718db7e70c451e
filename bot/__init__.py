"""Conversations: channel adapters, the router, the flows, translations and the dispatcher."""
