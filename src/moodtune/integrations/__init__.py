"""Where people listen: playlist files, MPD, Subsonic servers and moods written into tags.

Each module talks to one real thing and imports its optional client library only when it
runs (``python-mpd2`` for MPD, the standard library's HTTP client for Subsonic, ``mutagen``
for tags). They sit above :mod:`moodtune.catalog` and :mod:`moodtune.recommend` and below
:mod:`moodtune.service`, which is the only caller the interfaces use.

- :mod:`moodtune.integrations.playlists`: M3U8, XSPF and JSON playlist files (write + read).
- :mod:`moodtune.integrations.mpd`: queue a playlist on an MPD (or Mopidy) server.
- :mod:`moodtune.integrations.subsonic`: read a Subsonic server's library, analyse its
  songs into the catalog, push playlists.
- :mod:`moodtune.integrations.tags`: BPM, key, mood, arousal/valence into file tags.
"""
