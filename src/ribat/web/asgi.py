"""ASGI entry point for uvicorn (``ribat.web.asgi:app``): settings from the environment."""

from ribat.web.app import create_app

app = create_app()
