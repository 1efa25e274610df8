"""Fakes for the boundaries of the app (LLM, ...) that speak the real protocol where cheap."""
