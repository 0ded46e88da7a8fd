"""`mediumvc serve`: a Gradio page and an HTTP API over the same bounded conversion service."""
