/* moodtune web page: plain JS, no dependencies, talks to the /v1 API of this server. */
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const NOTES = ["C", "C♯", "D", "D♯", "E", "F", "F♯", "G", "G♯", "A", "A♯", "B"];
const LABELS = ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"];

let recorder = null;
let recordedBlob = null;
let lastRequest = null; // a function building a fresh fetch init for the last query
let lastQuery = null; // {strategy, n} of the last query
let lastEmotion = null; // the emotion heard last: feedback refreshes from it, not the audio
let lastTracks = []; // the playlist on screen: feedback revises it in place
let requestCount = 0;

// The visitor's identity: a listener id the server signed (POST /v1/session), kept in
// localStorage and proved with "Authorization: Bearer <token>" on every call.
function storedSession() {
  try { return JSON.parse(localStorage.getItem("moodtune-session") || "null"); } catch (e) { return null; }
}

async function ensureSession() {
  if (storedSession()) return;
  const resp = await fetch("/v1/session", { method: "POST", headers: headers() });
  if (!resp.ok) return; // e.g. 401 without the API key: the caller's request says why
  const body = await resp.json();
  localStorage.setItem("moodtune-session", JSON.stringify({ user: body.user, token: body.token }));
}

function headers(extra) {
  const h = Object.assign({}, extra || {});
  const key = $("apikey").value || localStorage.getItem("moodtune-apikey");
  if (key) h["X-API-Key"] = key;
  const s = storedSession();
  if (s) h["Authorization"] = "Bearer " + s.token;
  return h;
}

async function api(path, init, retried) {
  init = init || {};
  await ensureSession();
  init.headers = headers(init.headers);
  const resp = await fetch(path, init);
  if (resp.status === 401 && !retried && storedSession()) {
    const text = await resp.clone().text();
    if (text.includes("session token")) { // the server's secret changed: get a new id
      localStorage.removeItem("moodtune-session");
      return api(path, init, true);
    }
  }
  let body = null;
  try { body = await resp.json(); } catch (e) { body = null; }
  if (!resp.ok) {
    if (resp.status === 401) {
      $("apikey").classList.remove("hidden");
      $("apikey-label").classList.remove("hidden");
    }
    let msg = (body && body.detail) || resp.statusText || "request failed";
    if (resp.status === 503) msg += " (the server is busy: try again in a moment)";
    const err = new Error(msg);
    err.status = resp.status;
    throw err;
  }
  return body;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

/* ---- recording ---- */
async function toggleRecord() {
  const btn = $("record");
  if (recorder && recorder.state === "recording") {
    recorder.stop();
    return;
  }
  if (!navigator.mediaDevices || !window.MediaRecorder) {
    $("rec-status").textContent = "This browser cannot record; upload a file instead.";
    return;
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const chunks = [];
    recorder = new MediaRecorder(stream);
    recorder.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
    recorder.onstop = () => {
      stream.getTracks().forEach((t) => t.stop());
      recordedBlob = new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
      btn.textContent = "● Record again";
      btn.setAttribute("aria-pressed", "false");
      $("rec-status").textContent = `Recorded ${(recordedBlob.size / 1024).toFixed(0)} KB: press “Get a playlist”.`;
      $("file").value = "";
      $("text").value = "";
    };
    recorder.start();
    btn.textContent = "■ Stop";
    btn.setAttribute("aria-pressed", "true");
    $("rec-status").textContent = "Recording… speak, then press Stop.";
  } catch (e) {
    $("rec-status").textContent = "No microphone: " + e.message;
  }
}

/* ---- the query ---- */
function buildRequest() {
  const strategy = $("strategy").value;
  const n = parseInt($("n").value, 10) || 10;
  const file = $("file").files[0];
  const text = $("text").value.trim();
  const audio = file || (text ? null : recordedBlob);
  if (!audio && !text) throw new Error("Record, upload a voice message, or type a few words.");
  if (n < 1 || n > 100) throw new Error("Ask for 1 to 100 tracks.");
  lastQuery = { strategy, n }; // who is asking travels in the Authorization header
  if (audio) {
    const name = file ? file.name : "recording.webm";
    return () => {
      const form = new FormData();
      form.append("audio", audio, name);
      form.append("strategy", strategy);
      form.append("n", String(n));
      return { method: "POST", body: form };
    };
  }
  return () => ({
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ text, strategy, n }),
  });
}

async function run(makeInit, { refresh = false } = {}) {
  const go = $("go");
  go.disabled = true;
  $("error").textContent = "";
  $("busy").textContent = refresh ? "Choosing music…" : "Listening and choosing music…";
  try {
    const data = await api("/v1/recommend", makeInit());
    requestCount += 1;
    if (refresh) {  // same emotion: keep what was heard on screen, redraw the playlist
      renderMap(data);
      renderPlaylist(data);
      document.body.dataset.requests = String(requestCount);
    } else {
      lastEmotion = data.emotion;
      render(data);
    }
    $("busy").textContent = `Playlist ready (${data.tracks.length} tracks).`;
  } catch (e) {
    $("error").textContent = e.message;
    $("busy").textContent = "";
  } finally {
    go.disabled = false;
  }
}

async function submit(ev) {
  ev.preventDefault();
  try {
    lastRequest = buildRequest();
  } catch (e) {
    $("error").textContent = e.message;
    return;
  }
  await run(lastRequest);
}

/* ---- rendering ---- */
function render(data) {
  renderEmotion(data);
  renderMap(data);
  renderPlaylist(data);
  document.body.dataset.requests = String(requestCount);
}

/** The two close feelings of a message (`mixed` of the result, else of its words), or null. */
function mixedOf(data) {
  const m = (data.emotion && data.emotion.mixed) || (data.parts && data.parts.text && data.parts.text.mixed);
  return Array.isArray(m) && m.length === 2 ? m : null;
}

function renderEmotion(data) {
  $("emotion-card").classList.remove("hidden");
  const e = data.emotion;
  const said = data.transcript !== undefined
    ? (data.transcript ? `“${data.transcript}”` : "(no words heard: the voice alone decides)")
    : "";
  $("transcript").textContent = "";
  if (said) $("transcript").append(el("span", { class: "said", id: "transcript-text" }, said), " ");
  $("transcript").append(
    el("strong", { id: "label" }, e.label),
    ...(mixedOf(data) ? [" · mixed: ", el("strong", { id: "mixed" }, mixedOf(data).join(" + "))] : []),
    ` · valence ${e.valence.toFixed(2)} · arousal ${e.arousal.toFixed(2)} · confidence ${e.confidence.toFixed(2)}`,
    data.language && data.language !== "unknown" ? ` · ${data.language}` : ""
  );
  const cols = ["voice", "text", "fused"];
  const sources = { voice: data.parts.voice, text: data.parts.text, fused: e };
  const bars = $("bars");
  bars.textContent = "";
  bars.append(el("span", { class: "head" }, ""));
  // an unsure voice is said to be unsure, not drawn as a confident-looking bar
  const unsure = new Set(data.unsure || []);
  for (const c of cols) {
    const head = !sources[c] ? `${c} (–)` : unsure.has(c) ? `${c}: unsure` : c;
    bars.append(el("span", { class: "head", id: `head-${c}` }, head));
  }
  for (const lab of LABELS) {
    bars.append(el("span", { class: "bar-row-label" }, lab));
    for (const c of cols) {
      const p = sources[c] && !(c === "voice" && unsure.has(c)) ? sources[c].probabilities[lab] || 0 : 0;
      const pct = Math.round(p * 100);
      const bar = el("div", {
        class: `bar ${c}`, role: "meter", "aria-valuemin": "0", "aria-valuemax": "100",
        "aria-valuenow": String(pct), "aria-label": `${c} ${lab} ${pct}%`, title: `${c} ${lab} ${pct}%`,
      });
      const fill = el("span");
      fill.style.width = `${pct}%`;
      bar.append(fill);
      // the number next to the bar (aria-hidden: the meter already says it)
      const shown = sources[c] ? `${pct}%` : "–";
      bars.append(el("div", { class: "bar-cell" }, bar, el("span", { class: "pct", "aria-hidden": "true" }, shown)));
    }
  }
}

function renderMap(data) {
  $("map-card").classList.remove("hidden");
  const map = $("map");
  [...map.querySelectorAll(":scope > :not(title)")].forEach((n) => n.remove());
  const S = 400, R = 170, C = 200;
  const x = (v) => C + v * R;
  const y = (a) => C - a * R;
  map.append(svg("rect", { x: 0, y: 0, width: S, height: S, fill: "#fbfbfd" }));
  map.append(svg("circle", { cx: C, cy: C, r: R, fill: "none", stroke: "#cfd0d8" }));
  map.append(svg("line", { x1: C - R, y1: C, x2: C + R, y2: C, stroke: "#cfd0d8" }));
  map.append(svg("line", { x1: C, y1: C - R, x2: C, y2: C + R, stroke: "#cfd0d8" }));
  const words = [["excited", 0.55, 0.75], ["happy", 0.85, 0.3], ["calm", 0.6, -0.75], ["sad", -0.8, -0.45],
                 ["angry", -0.6, 0.7], ["tense", -0.15, 0.92], ["tired", -0.15, -0.92]];
  for (const [w, v, a] of words) {
    map.append(svg("text", { x: x(v), y: y(a), "text-anchor": "middle", fill: "#9a9aa5", "font-size": 12 }, w));
  }
  map.append(svg("text", { x: S - 6, y: C - 6, "text-anchor": "end", "font-size": 11, fill: "#5d5d66" }, "valence +"));
  map.append(svg("text", { x: C + 6, y: 14, "font-size": 11, fill: "#5d5d66" }, "arousal +"));
  const tracks = data.tracks;
  if (["uplift", "calm", "energize", "journey"].includes(data.strategy)) {
    const pts = [[data.emotion.valence, data.emotion.arousal]].concat(
      tracks.map((t) => [t.target.valence, t.target.arousal]));
    map.append(svg("polyline", {
      points: pts.map(([v, a]) => `${x(v)},${y(a)}`).join(" "), fill: "none",
      stroke: "#3b5bdb", "stroke-width": 2, "stroke-dasharray": "5 4", id: "path",
    }));
  }
  tracks.forEach((t, i) => {
    const v = 2 * (t.valence ?? 0.5) - 1;
    const a = 2 * (t.energy ?? 0.5) - 1;
    const g = svg("g", { class: "track-dot" });
    g.append(svg("title", {}, `${i + 1}. ${t.name}`));
    g.append(svg("circle", { cx: x(v), cy: y(a), r: 9, fill: "#2f9e44", "fill-opacity": 0.8 }));
    g.append(svg("text", { x: x(v), y: y(a) + 4, "text-anchor": "middle", "font-size": 10, fill: "#fff" }, i + 1));
    map.append(g);
  });
  const me = svg("g", { id: "me" });
  me.append(svg("title", {}, `you: ${data.emotion.label}`));
  me.append(svg("circle", { cx: x(data.emotion.valence), cy: y(data.emotion.arousal), r: 12, fill: "#e8590c", stroke: "#fff", "stroke-width": 3 }));
  me.append(svg("text", { x: x(data.emotion.valence), y: y(data.emotion.arousal) - 17, "text-anchor": "middle", "font-size": 13, "font-weight": 700, fill: "#e8590c" }, "you"));
  map.append(me);
}

function targetsLine(targets) {
  if (!targets) return "";
  const by = targets.source === "llm"
    ? `music targets: proposed by the LLM${targets.model ? " " + targets.model : ""}`
    : "music targets: built-in";
  const t = targets.targets || {};
  const bits = [];
  if (typeof t.valence === "number") bits.push(`valence ${t.valence.toFixed(2)}`);
  if (typeof t.energy === "number") bits.push(`energy ${t.energy.toFixed(2)}`);
  if (typeof t.tempo === "number") bits.push(`${Math.round(t.tempo)} BPM`);
  const why = targets.source === "llm" ? targets.why : targets.note;
  return by + (bits.length ? ` (${bits.join(", ")})` : "") + (why ? ` · ${why}` : "");
}

function renderPlaylist(data) {
  $("playlist-card").classList.remove("hidden");
  $("strategy-name").textContent = `(${data.strategy})`;
  $("targets-line").textContent = targetsLine(data.targets);
  $("notes-line").textContent = (data.notes || []).join(" · ");
  lastTracks = data.tracks.map((t) => t.id);
  const list = $("playlist");
  list.textContent = "";
  for (const t of data.tracks) {
    const artists = (t.artists || []).join(", ");
    const title = el("button", { type: "button", class: "linklike title", "data-id": t.id,
      "aria-label": `Show details of ${t.name}`, onclick: () => showTrack(t.id) }, t.name);
    const actions = el("div", { class: "actions" });
    actions.append(
      el("button", { type: "button", class: "like secondary", "aria-label": `Like ${t.name}`,
        "aria-pressed": t.liked ? "true" : "false",
        onclick: (ev) => feedback(t.id, "like", ev.target) }, t.liked ? "♥ Liked" : "♥ Like"),
      el("button", { type: "button", class: "skip secondary", "aria-label": `Skip ${t.name}`,
        onclick: (ev) => feedback(t.id, "skip", ev.target) }, "✕ Skip"));
    if (t.url) actions.append(el("a", { href: t.url, target: "_blank", rel: "noopener" }, "Open in Spotify"));
    if (t.audio_url) {
      const player = el("audio", { controls: "", preload: "none", src: t.audio_url, "aria-label": `Play ${t.name}` });
      actions.append(player);
    }
    const attrs = { "data-id": t.id };
    if (t.liked) attrs.class = "liked";
    list.append(el("li", attrs, title, artists ? ` — ${artists}` : "",
      t.liked ? el("span", { class: "liked-mark", "aria-label": "liked" }, " ♥ liked") : "",
      el("div", { class: "reason" }, t.reason || ""), actions));
  }
}

async function feedback(trackId, kind, button) {
  $("error").textContent = "";
  try {
    await api("/v1/feedback", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ track_id: trackId, kind }),
    });
    if (button) button.setAttribute("aria-pressed", "true");
    if (lastEmotion && lastQuery) {
      // the emotion is already known: revise the playlist on screen without sending the
      // voice again (a skip replaces that track only; a like keeps it, marked liked)
      const body = JSON.stringify({ emotion: { probabilities: lastEmotion.probabilities },
        strategy: lastQuery.strategy, n: lastQuery.n, current: lastTracks });
      await run(() => ({ method: "POST", headers: { "Content-Type": "application/json" }, body }),
        { refresh: true });
    } else if (lastRequest) await run(lastRequest);
  } catch (e) {
    $("error").textContent = e.message;
  }
}

/* ---- mood journey ---- */
async function journey(ev) {
  ev.preventDefault();
  $("error").textContent = "";
  const n = parseInt($("journey-n").value, 10) || 12;
  const body = JSON.stringify({ from: $("journey-from").value, to: $("journey-to").value, n });
  $("busy").textContent = "Planning the journey…";
  try {
    const data = await api("/v1/journey", {
      method: "POST", headers: { "Content-Type": "application/json" }, body });
    lastEmotion = null;  // feedback on a journey is stored and steers the next playlists
    lastRequest = null;
    lastQuery = null;
    requestCount += 1;
    renderMap(data);
    renderPlaylist(data);
    document.body.dataset.requests = String(requestCount);
    $("busy").textContent = `Journey ready (${data.tracks.length} steps).`;
  } catch (e) {
    $("error").textContent = e.message;
    $("busy").textContent = "";
  }
}

/* ---- track page ---- */
async function showTrack(id) {
  const card = $("track-card");
  const body = $("track-body");
  body.textContent = "Loading…";
  card.classList.remove("hidden");
  try {
    const t = await api(`/v1/tracks/${encodeURIComponent(id)}`);
    body.textContent = "";
    const by = (t.artists || []).join(", ");
    $("track-h").textContent = by ? `${t.name} — ${by}` : t.name;
    body.append(trackWords(t));
    const feats = el("dl", { class: "features" });
    const keys = ["year", "tempo", "key", "mode", "loudness", "valence", "energy", "danceability",
                  "acousticness", "instrumentalness", "speechiness", "liveness", "duration_ms", "popularity"];
    for (const k of keys) {
      if (t[k] === null || t[k] === undefined || t[k] === "") continue;
      let v = typeof t[k] === "number" ? (Number.isInteger(t[k]) ? t[k] : t[k].toFixed(3)) : t[k];
      if (k === "key" && t.key >= 0 && t.key < 12) v = NOTES[t.key];
      if (k === "mode") v = t.mode === 1 ? "major" : "minor";
      if (k === "duration_ms") v = `${Math.floor(t[k] / 60000)}:${String(Math.round(t[k] / 1000) % 60).padStart(2, "0")}`;
      if (k === "tempo") v = `${Math.round(t[k])} BPM`;
      if (k === "loudness") v = `${t[k].toFixed(1)} dB`;
      feats.append(el("div", {}, el("dt", {}, k.replace("_ms", "").replace("_", " ")), el("dd", {}, v)));
    }
    body.append(feats);
    if (t.audio_url) body.append(el("audio", { controls: "", src: t.audio_url, "aria-label": `Play ${t.name}` }));
    if (t.url) body.append(el("p", {}, el("a", { href: t.url, target: "_blank", rel: "noopener" }, "Open in Spotify")));
    if (t.curve) body.append(curveSvg(t.curve));
    else if (t.source === "local") body.append(el("p", { class: "hint" }, "No arousal/valence curve yet: scan its folder again (moodtune scan) to draw one."));
    else body.append(el("p", { class: "hint" }, "No arousal/valence curve: a catalog track comes with its overall features only; curves are drawn for music files you analyse or scan."));
    const sim = await api(`/v1/tracks/${encodeURIComponent(id)}/similar?n=5`);
    const ul = el("ul", { id: "similar" });
    for (const s of sim.tracks) {
      ul.append(el("li", {}, el("button", { type: "button", class: "linklike", onclick: () => showTrack(s.id) }, s.name),
        ` — ${s.artists} (distance ${s.distance.toFixed(2)})`));
    }
    body.append(el("h3", {}, "Similar tracks"), ul);
    card.focus();
  } catch (e) {
    body.textContent = e.message;
  }
}

const GENRE_SOURCE = { catalog: "catalog genre", tag: "from the file's tag", classifier: "classifier's guess" };
const LYRICS_SOURCE = { lrc: "from the .lrc file", txt: "from the .txt file", whisper: "heard by Whisper" };

function topLabel(probs) {
  let best = null;
  for (const [k, p] of Object.entries(probs || {})) if (best === null || p > probs[best]) best = k;
  return best;
}

function excerpt(text, limit) {
  const flat = String(text || "").split(/\s+/).join(" ").trim();
  if (flat.length <= limit) return flat;
  const cut = flat.slice(0, limit);
  const space = cut.lastIndexOf(" ");
  return (space > limit / 2 ? cut.slice(0, space) : cut) + " …";
}

/* description, genre probabilities and lyrics emotion of a track (track view or analysis) */
function trackWords(t) {
  const box = el("div", { class: "words" });
  const d = t.description;
  if (d && d.text) {
    const by = d.source === "llm"
      ? `written by the LLM${d.model ? " " + d.model : ""}`
      : (t.curve ? "from the curve (template)" : "from the features (template)");
    const note = d.source !== "llm" && d.note ? ` · ${d.note}` : "";
    box.append(el("p", { id: "track-desc", class: "desc" }, d.text),
      el("p", { id: "track-desc-by", class: "hint small" }, by + note));
  }
  const cols = el("div", { class: "word-cols" });
  const g = t.genre_info || t.genre;
  if (g && typeof g === "object" && g.label) {
    const sec = el("div", { id: "track-genre" });
    const abstained = g.label === "other"; // the classifier found no genre likely
    const unsure = !abstained && g.source === "classifier" && ((g.probabilities || {})[g.label] || 0) < 0.5;
    const said = abstained
      ? "no genre is likely (the classifier abstains)"
      : `${GENRE_SOURCE[g.source] || g.source || ""}${unsure ? ", uncertain" : ""}`;
    sec.append(el("h3", {}, "Genre: ", el("strong", { id: "genre-label" }, g.label),
      el("span", { class: "hint small" }, ` ${said}`)));
    const probs = Object.entries(g.probabilities || {}).sort((a, b) => b[1] - a[1]);
    const grid = el("div", { class: "genre-bars" });
    for (const [name, p] of probs) {
      const pct = Math.round(p * 100);
      const bar = el("div", { class: "bar genre", role: "meter", "aria-valuemin": "0", "aria-valuemax": "100",
        "aria-valuenow": String(pct), "aria-label": `${name} ${pct}%`, title: `${name} ${pct}%` });
      const fill = el("span");
      fill.style.width = `${pct}%`;
      bar.append(fill);
      grid.append(el("span", { class: "genre-name" }, name), bar, el("span", { class: "pct" }, `${pct}%`));
    }
    sec.append(grid);
    if (g.model) sec.append(el("p", { class: "hint small" }, `bars: the genre classifier ${g.model}`));
    cols.append(sec);
  }
  const lyr = t.lyrics;
  const sec = el("div", { id: "track-lyrics" });
  if (lyr) {
    const label = lyr.label || topLabel(lyr.probabilities) || "?";
    const point = t.emotion_point;
    sec.append(el("h3", {}, "Lyrics: ", el("strong", { id: "lyrics-label" }, label),
      el("span", { class: "hint small" }, ` ${LYRICS_SOURCE[lyr.source] || lyr.source}` +
        (lyr.language ? `, ${lyr.language}` : ""))));
    const nums = [`valence ${Number(lyr.valence).toFixed(2)}`, `arousal ${Number(lyr.arousal).toFixed(2)}`,
      `confidence ${Number(lyr.confidence).toFixed(2)}`];
    sec.append(el("p", { class: "small" }, nums.join(" · ")));
    if (lyr.text) sec.append(el("blockquote", { class: "lyrics-text" }, `“${excerpt(lyr.text, 180)}”`));
    if (point && typeof point.lyrics_share === "number") {
      sec.append(el("p", { id: "lyrics-share", class: "hint small" },
        `The words make up ${Math.round(point.lyrics_share * 100)}% of the track's mood point ` +
        `(valence ${point.valence.toFixed(2)}, arousal ${point.arousal.toFixed(2)}).`));
    }
  } else {
    sec.append(el("h3", {}, "Lyrics"),
      el("p", { class: "hint small" }, "No words known: an instrumental, or not scanned with lyrics."));
  }
  cols.append(sec);
  box.append(cols);
  return box;
}

function curveSvg(curve) {
  const W = 600, H = 200, L = 40, P = 20;
  const n = curve.arousal.length;
  const peak = Math.max(0.25, ...curve.arousal.map(Math.abs), ...curve.valence.map(Math.abs));
  const top = Math.min(1, Math.ceil(peak * 4) / 4);
  const yOf = (v) => H / 2 - (v / top) * (H / 2 - P);
  const xOf = (i) => L + (i / Math.max(1, n - 1)) * (W - L - P);
  const s = svg("svg", { id: "curve", viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": `Arousal and valence over ${(n * curve.hop_s).toFixed(0)} seconds` });
  for (const v of [top, 0, -top]) {
    s.append(svg("line", { x1: L, y1: yOf(v), x2: W - P, y2: yOf(v), stroke: v === 0 ? "#b8b9c4" : "#e4e4ea" }));
    s.append(svg("text", { x: L - 4, y: yOf(v) + 4, "text-anchor": "end", "font-size": 11, fill: "#5d5d66" },
      (v > 0 ? "+" : "") + v.toFixed(2)));
  }
  const line = (vals, color, name, row) => {
    const pts = vals.map((v, i) => `${xOf(i)},${yOf(v)}`);
    s.append(svg("polyline", { points: pts.join(" "), fill: "none", stroke: color, "stroke-width": 2 }));
    s.append(svg("text", { x: W - P, y: 12 + 14 * row, "text-anchor": "end", fill: color, "font-size": 12, "font-weight": 600 }, name));
  };
  line(curve.arousal, "#e8590c", "arousal", 0);
  line(curve.valence, "#2f9e44", "valence", 1);
  const total = n * curve.hop_s;
  s.append(svg("text", { x: L, y: H - 3, "font-size": 11, fill: "#5d5d66" }, "0 s"));
  s.append(svg("text", { x: W - P, y: H - 3, "text-anchor": "end", "font-size": 11, fill: "#5d5d66" },
    `${Math.floor(total / 60)}:${String(Math.round(total % 60)).padStart(2, "0")}`));
  return s;
}

$("record").addEventListener("click", toggleRecord);
$("ask").addEventListener("submit", submit);
$("journey-form").addEventListener("submit", journey);
$("track-close").addEventListener("click", () => $("track-card").classList.add("hidden"));
$("apikey").addEventListener("change", () => localStorage.setItem("moodtune-apikey", $("apikey").value));
$("file").addEventListener("change", () => { if ($("file").files.length) { recordedBlob = null; $("rec-status").textContent = ""; } });
