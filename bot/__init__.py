"""summitbot: answers questions about a news corpus by quoting cited passages."""

__version__ = "0.1.0"
