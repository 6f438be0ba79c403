"""Shared pytest setup: the loopback Discord stub's fixtures (``discord_stub``) for every test module."""

pytest_plugins = ["discord_stub.fixtures"]
