#!/usr/bin/env bash
# Regenerate tests/data/speech/: synthesized English (espeak-ng) and Russian
# (festival + festvox-ru) sentences, encoded as Telegram-style Ogg Opus voice notes
# (mono, 48 kHz, 24 kbit/s) with moodtune's own encoder.
#
# Needs: apt-get install -y espeak-ng festival festvox-ru ; the project venv.
# Usage: scripts/make_speech_fixtures.sh [PYTHON]   (default .venv/bin/python)
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON="${1:-.venv/bin/python}"
OUT=tests/data/speech
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"

# name|language|text (the manifest the tests read)
cat > "$OUT/transcripts.tsv" <<'TSV'
en_happy	en	I am so happy today, everything is wonderful.
en_sad	en	I feel very sad and lonely, nothing is going right.
en_angry	en	This makes me really angry, I am furious about it.
ru_sad	ru	Мне очень грустно и одиноко.
ru_happy	ru	Я сегодня очень счастлив, всё просто замечательно.
ru_angry	ru	Меня это очень злит, я просто в ярости.
TSV

while IFS=$'\t' read -r name lang text; do
  if [ "$lang" = en ]; then
    espeak-ng -v en-us -s 150 -w "$TMP/$name.wav" "$text"
  else
    printf '%s\n' "$text" > "$TMP/$name.txt"
    text2wave -eval "(voice_msu_ru_nsh_clunits)" "$TMP/$name.txt" -o "$TMP/$name.wav"
  fi
done < "$OUT/transcripts.tsv"

"$PYTHON" - "$TMP" "$OUT" <<'PY'
import sys
from pathlib import Path

import numpy as np

from moodtune.audio.decode import decode
from moodtune.audio.encode import encode_audio

tmp, out = Path(sys.argv[1]), Path(sys.argv[2])
for wav in sorted(tmp.glob("*.wav")):
    audio = decode(wav, sr=48000)
    y = audio.y / max(1e-6, float(np.max(np.abs(audio.y)))) * 0.7  # peak -3 dBFS
    lead = np.zeros(int(0.3 * 48000), dtype=np.float32)  # a short pause, as people do
    y = np.concatenate([lead, y, lead])
    data = encode_audio(y, sr=48000, fmt="ogg", bitrate=24000)
    (out / f"{wav.stem}.ogg").write_bytes(data)
    print(f"{wav.stem}.ogg: {y.size / 48000:.2f} s, {len(data)} bytes")
PY
