"""The parts of the one facade, :class:`moodtune.service.Moodtune`, by concern.

Each part is a mixin over :class:`~moodtune.facade.base.FacadeBase` that composes domain
modules (music reports, mixing, playlists, players); ``service.py`` wires them into one
class. Interfaces import :mod:`moodtune.service`, never these modules.
"""
