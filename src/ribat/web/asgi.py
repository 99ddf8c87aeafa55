"""ASGI entry point for uvicorn (``ribat.web.asgi:app``): settings from the environment."""

import gc

from ribat.web.app import create_app

app = create_app()
# Everything loaded so far lives as long as the process: keep it out of the garbage
# collector's generations, so that collections during requests have less to scan.
gc.freeze()
