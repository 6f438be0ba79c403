"""Operating summitbot: set up a folder, invite link, health status, logging, backups.

The launcher side of the project (``summitbot init | invite | health | backup | restore``): kept
apart from the bot's runtime, which only calls :mod:`bot.ops.health` and :mod:`bot.ops.logs`.
"""
