"""The Discord layer: the Bot subclass, pure renderers, persistent buttons and thin cogs.

Nothing in :mod:`bot` outside this package imports discord.py.
"""
