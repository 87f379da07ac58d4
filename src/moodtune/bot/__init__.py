"""Telegram bot: a thin aiogram 3 adapter over :class:`moodtune.service.Moodtune`.

A voice note, an audio file, a video note or a typed message gets the emotion heard in
it and a playlist for that mood; ``/strategy`` picks how the playlist moves (stored per
user) and like/skip buttons under each playlist steer the next one.

aiogram is imported only by :mod:`moodtune.bot.app`, :mod:`moodtune.bot.handlers` and
:mod:`moodtune.bot.cli`; :mod:`moodtune.bot.store` and :mod:`moodtune.bot.playlist` need
nothing beyond the base install.
"""

from __future__ import annotations
