"""The thin FastAPI app: provider webhooks under ``/webhooks``, signed media under ``/media``."""
