"""Tests for telling lists and table rows from prose (bot/sentences.py: looks_like_list)."""

from __future__ import annotations

import pytest

from bot.sentences import looks_like_list

LISTS = [
    "Chelsea 2-1 Arsenal, Everton 0-0 Leeds, Man Utd 3-0 Fulham.",
    "Wales: G Thomas (capt); H Luscombe, T Shanklin, G Henson, S Williams; S Jones, D Peel.",
    "| Year | Sales | Profit |",
    "2003\t4.1\t5.6\t7.0",
    "1. Arsenal 60 pts 2. Chelsea 58 pts 3. Man Utd 50 pts",
    "GDP: 2.1%, 2.4%, 3.0% in 2002, 2003, 2004.",
    "Best film: The Aviator; Best actor: Jamie Foxx, Ray; Best actress: Hilary Swank.",
    "Replacements: R McBryde, D Jones, B Cockbain, M Owen, M Phillips, C Sweeney, R Williams.",
    "- Angie Errigo, Empire: Film - The Aviator; director - Clint Eastwood; actor - Jamie Foxx.",
]

PROSE = [
    "Quarterly profits at US media giant TimeWarner jumped 76% to $1.13bn (£600m) for the three months to December.",
    "Profits rose 76% to $1.13bn in 2004.",
    "Paris, London, Berlin and Rome all agreed.",
    "The summit brought together leaders from France, China, India, and the US, as well as CEOs.",
    "In 1939, c. 1,300,000 people lived in Warsaw, but in 1945 – only 420,000.",
    "Eight years later, in 1909, there were 281,754 Jews (36.9%), 18,189 Protestants (2.4%) and 2,818 Mariavites.",
    "Sun Interbrew, which employs 8,000 staff, owns breweries in eight Russian cities - Klin, Ivanovo, Saransk, Omsk.",
    "While completing Q with respect to the p-adic norm |−|p yields the field of p-adic numbers.",
    "Oxygen condenses at 90.20 K (−182.95 °C, −297.31 °F), and freezes at 54.36 K.",
    "Yes.",
    "",
]


@pytest.mark.parametrize("sentence", LISTS)
def test_lists_and_table_rows_are_recognised(sentence: str) -> None:
    assert looks_like_list(sentence)


@pytest.mark.parametrize("sentence", PROSE)
def test_prose_with_numbers_or_enumerations_is_not_a_list(sentence: str) -> None:
    assert not looks_like_list(sentence)
