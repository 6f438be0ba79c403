"""Packaging beyond pyproject.toml: the shipped corpus travels in the wheel as package data.

The articles stay in the top-level ``corpus/`` folder (the project's home for them); setuptools maps
that folder to the package ``bot.shipped_corpus``, so a wheel or sdist install carries them and
``bot.config.shipped_corpus_dir`` finds them when no corpus is configured.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["bot", "bot.*"]), "bot.shipped_corpus"],
    package_dir={"bot.shipped_corpus": "corpus"},
    package_data={"bot.shipped_corpus": ["*.md", "*.txt", "*.yaml", "**/*.md", "**/*.txt", "**/*.yaml"]},
)
