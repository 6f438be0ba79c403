"""Corpus curation from Discord, for operators: ``/corpus add`` (a web page or an attached file,
previewed with Add / Cancel buttons), ``/corpus remove`` (into the hidden ``.removed/`` folder, never
deleted) and ``/corpus show``.

Operators are the application's owner or team members and the users and roles in
``discord.operator_users`` / ``discord.operator_roles``: checked in code on every command and
button (``default_member_permissions`` only hides the commands in Discord's menus). Extraction and
fetching are :mod:`bot.ingest`'s; the cog reads the event, checks who asks, and sends what the
renderer builds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app import render
from bot.discord_app.replies import NO_MENTIONS, send_private
from bot.ingest import (
    IMPORT_SUFFIXES,
    Article,
    FetchPolicy,
    IngestError,
    PreparedImport,
    article_from_url,
    extract_upload,
    known_from,
    prepare_import,
    remove_document,
    write_import,
)
from bot.terminal import shown

if TYPE_CHECKING:
    from bot.discord_app.app import ReloadOutcome, SummitBot

log = logging.getLogger("summitbot.discord.corpus")

REFUSAL = "Sorry, only the bot's operators can change its sources."
#: How long the Add / Cancel buttons of a preview stay usable.
PREVIEW_SECONDS = 600.0


class Curation(commands.Cog):
    """Add, remove and show corpus articles (operators only)."""

    corpus = app_commands.Group(
        name="corpus",
        description="Add, remove and show the articles I answer from (operators)",
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, bot: SummitBot) -> None:
        self.bot = bot
        # One change to the corpus folder at a time in this process: write or move, then reload.
        self.lock = asyncio.Lock()

    def allowed(self, interaction: discord.Interaction[Any]) -> bool:
        """Whether the user of this interaction is an operator (the bot's one check, in ``servers``)."""
        return self.bot.servers.is_operator(interaction.user)

    @staticmethod
    async def _private_followup(interaction: discord.Interaction[Any], text: str) -> None:
        """A private message after the interaction was deferred."""
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def _refuse(self, interaction: discord.Interaction[Any], command: str) -> None:
        """Tell a non-operator, privately, that the command is not for them (no id logged)."""
        log.info("refused /corpus %s: not an operator", command)
        await send_private(interaction, REFUSAL)

    # -- add -------------------------------------------------------------------------------------

    @corpus.command(name="add", description="Add an article from a web page or a file (operators)")
    @app_commands.describe(
        url="The article's address (http or https)",
        file="The article saved as .html, .md or .txt",
        source="Name the source yourself (default: the site's name, else its domain)",
    )
    async def add(
        self,
        interaction: discord.Interaction[Any],
        url: str | None = None,
        file: discord.Attachment | None = None,
        source: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        """Fetch or read the article, then show a preview with Add / Cancel (nothing written yet)."""
        if not self.allowed(interaction):
            await self._refuse(interaction, "add")
            return
        if (url is None) == (file is None):
            await send_private(interaction, "Give either `url:` (a web page) or `file:` (an attachment), one of them.")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        corpus = self.bot.settings.corpus
        policy = FetchPolicy.from_settings(corpus)
        try:
            if url is not None:
                article = await article_from_url(url, policy, source)
            else:
                assert file is not None
                article = await self._read_attachment(file, policy, source)
            prepared = await asyncio.to_thread(self._prepare, article)
        except IngestError as exc:
            await interaction.followup.send(
                render.import_refusal(str(exc)), ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        view = ImportPreview(self, interaction.user.id, prepared)
        view.message = await interaction.followup.send(
            embed=render.render_import_preview(article, prepared.doc_id),
            view=view,
            ephemeral=True,
            wait=True,
            allowed_mentions=NO_MENTIONS,
        )

    async def _read_attachment(self, file: discord.Attachment, policy: FetchPolicy, source: str | None) -> Article:
        """An attached .html/.md/.txt file, refused when of another kind or over the import cap."""
        name = shown(file.filename, 100)
        if not file.filename.lower().endswith(IMPORT_SUFFIXES):
            raise IngestError(f"{name}: not an article file (attach .html, .md or .txt)")
        if file.size > policy.max_bytes:
            raise IngestError(f"{name}: {file.size:,} bytes, over the {policy.max_bytes:,}-byte import cap")
        try:
            data = await asyncio.wait_for(file.read(), timeout=policy.timeout_seconds)
        except (discord.HTTPException, asyncio.TimeoutError):
            raise IngestError(f"{name}: could not download the attachment from Discord; try again") from None
        if len(data) > policy.max_bytes:
            raise IngestError(f"{name}: over the {policy.max_bytes:,}-byte import cap")
        return await asyncio.to_thread(extract_upload, file.filename, data, name, source)

    def _prepare(self, article: Article) -> PreparedImport:
        """The corpus file for ``article``, its id and address checked against the documents served
        now and the file names on disk (without reading every file: worker thread)."""
        corpus = self.bot.settings.corpus
        known = known_from(self.bot.engine.documents, Path(corpus.path))
        return prepare_import(article, Path(corpus.path), corpus.max_file_bytes, known=known)

    async def commit(self, prepared: PreparedImport) -> list[discord.Embed]:
        """Write a previewed article (checked again against the corpus as it is now) and reload."""
        corpus = self.bot.settings.corpus
        async with self.lock:
            fresh = await asyncio.to_thread(self._prepare, prepared.article)
            path = await asyncio.to_thread(write_import, fresh)
            outcome = await self.bot.reload_corpus()
        where = render.corpus_relative(path, corpus.path)
        done = render.render_corpus_done(
            "Added to the corpus", fresh.doc_id, fresh.article.title, f"Written to {where}."
        )
        return [done, self._reload_embed(outcome)]

    def _reload_embed(self, outcome: ReloadOutcome) -> discord.Embed:
        """What the reload after a change did, as ``/reload`` shows it."""
        if outcome.ok and outcome.change is not None:
            return render.render_reload(outcome.change, outcome.seconds, outcome.documents, outcome.warnings)
        return render.render_reload_failed(outcome.problems, self.bot.settings.corpus.path, outcome.documents)

    # -- remove and show -------------------------------------------------------------------------

    @corpus.command(name="remove", description="Take an article out of the corpus (kept in .removed/) (operators)")
    @app_commands.describe(document="The document to remove (start typing its title)")
    async def remove(self, interaction: discord.Interaction[Any], document: str) -> None:
        """Move the document's file into ``corpus/.removed/`` and reload."""
        if not self.allowed(interaction):
            await self._refuse(interaction, "remove")
            return
        doc = self.bot.engine.document(document)
        if doc is None:
            await send_private(interaction, "I don't know that document. Pick one from the list as you type.")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        root = self.bot.settings.corpus.path
        try:
            async with self.lock:
                moved = await asyncio.to_thread(remove_document, Path(root), doc)
                outcome = await self.bot.reload_corpus()
        except IngestError as exc:
            await interaction.followup.send(
                render.import_refusal(str(exc)), ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        where = render.corpus_relative(moved, root)
        done = render.render_corpus_done(
            "Removed from the corpus",
            doc.id,
            doc.title,
            f"The file is kept as {where}; move it back and /reload to restore it.",
        )
        await interaction.followup.send(
            embeds=[done, self._reload_embed(outcome)], ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @corpus.command(name="show", description="A document's front matter and paragraph count (operators)")
    @app_commands.describe(document="The document to show (start typing its title)")
    async def show(self, interaction: discord.Interaction[Any], document: str) -> None:
        """Title, source, address, date, id, file and paragraph count of one document."""
        if not self.allowed(interaction):
            await self._refuse(interaction, "show")
            return
        doc = self.bot.engine.document(document)
        if doc is None:
            await send_private(interaction, "I don't know that document. Pick one from the list as you type.")
            return
        embed = render.render_document(doc, self.bot.settings.corpus.path)
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @remove.autocomplete("document")
    @show.autocomplete("document")
    async def document_choices(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        """Documents matching what has been typed (none for non-operators)."""
        if not self.allowed(interaction):
            return []
        choices = render.document_choices(self.bot.engine.documents, current)
        return [app_commands.Choice(name=name, value=value) for name, value in choices]


class ImportPreview(discord.ui.View):
    """The Add / Cancel buttons under a ``/corpus add`` preview; only the operator who asked may press."""

    def __init__(self, cog: Curation, user_id: int, prepared: PreparedImport) -> None:
        super().__init__(timeout=PREVIEW_SECONDS)
        self.cog = cog
        self.user_id = user_id
        self.prepared = prepared
        self.message: discord.WebhookMessage | None = None

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        """Only the operator who asked for this preview (still an operator) may press its buttons."""
        if interaction.user.id == self.user_id and self.cog.allowed(interaction):
            return True
        await send_private(interaction, REFUSAL)
        return False

    @discord.ui.button(label="Add", style=discord.ButtonStyle.success)
    async def add_button(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        """Write the article, reload, and show the change in place of the preview."""
        self.stop()
        await interaction.response.edit_message(content="Adding…", view=None)
        try:
            embeds = await self.cog.commit(self.prepared)
        except IngestError as exc:
            await interaction.edit_original_response(
                content=render.import_refusal(str(exc)), embeds=[], allowed_mentions=NO_MENTIONS
            )
            return
        except Exception:
            log.exception("adding a previewed article failed")
            await interaction.edit_original_response(
                content="Something went wrong while adding the article; see the bot's log.",
                embeds=[],
                allowed_mentions=NO_MENTIONS,
            )
            return
        await interaction.edit_original_response(content=None, embeds=embeds, allowed_mentions=NO_MENTIONS)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel_button(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        """Drop the preview; nothing is written."""
        self.stop()
        await interaction.response.edit_message(content="Cancelled: nothing was written.", embed=None, view=None)

    async def on_timeout(self) -> None:
        """An expired preview loses its buttons."""
        if self.message is not None:
            with contextlib.suppress(discord.HTTPException):
                await self.message.edit(content="This preview expired; nothing was written.", view=None)


async def setup(bot: SummitBot) -> None:
    """Extension entry point."""
    await bot.add_cog(Curation(bot))
