"""The HTTP API and the web pages of the loket (`loket serve`)."""
