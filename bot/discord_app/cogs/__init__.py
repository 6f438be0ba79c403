"""One cog per feature: questions (messages, /ask, /help, buttons), summaries and sources, admin."""
