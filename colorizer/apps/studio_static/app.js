// Colorize studio: the page of `colorize-studio` (colorizer/apps/studio.py), on the same origin as its JSON API.
//
// Points are kept here, in pixels of the photograph as displayed, and sent whole with every request: the
// server keeps no edit state, so Undo is a copy of the points. One colouring request is in flight at a time;
// changes made meanwhile are folded into the next one, so a burst of clicks or a drag costs one network run
// per run's time, never a queue of stale ones.
"use strict";

const $ = (id) => document.getElementById(id);
const HIT = 10; // CSS pixels: a press this close to a point takes that point
const RADIUS = 7; // CSS pixels: a point's mark
const MAX_HISTORY = 200;

const state = {
  info: null,
  photo: null, // {id, name, width, height, shown_width, shown_height, point_size}
  points: [], // {x, y, color, size}: the sidecar's points
  selected: -1,
  history: [], // snapshots for Undo
  colour: null, // ImageBitmap: the latest colouring
  before: null, // ImageBitmap: the photograph in grey
  seq: 0,
  inFlight: null, // the AbortController of the colouring request in flight
  pending: false, // a change arrived while one was in flight
  changedAt: 0, // performance.now() of the newest change
  rendered: 0, // the sequence number of the picture shown
  suggestSeq: 0,
  wantSuggestions: false,
  suggesting: false, // a suggestions request is in flight
  drag: null,
  pickerEditing: false,
  timings: [], // {seq, ms, server}: from a change to its picture on screen
};
window.studio = state; // read by the end-to-end test and the latency benchmark

const picture = $("picture");
const marks = $("marks");
const sampler = document.createElement("canvas").getContext("2d", { willReadFrequently: true });
let sampled = null;

// ---------------------------------------------------------------------------------------------------------
// Messages

function showMessage(text, note = false) {
  const box = $("message");
  box.textContent = text;
  box.classList.toggle("note", note);
  box.hidden = false;
}

function clearMessage() {
  $("message").hidden = true;
}

function setStatus(text) {
  $("status").textContent = text;
}

async function errorOf(response) {
  try {
    const data = await response.json();
    if (data.error) return data.error;
  } catch (error) {
    // not JSON: the status says it
  }
  return `${response.status} ${response.statusText}`;
}

function unreachable(error) {
  showMessage(`colorize-studio did not answer (${error.message}): is it still running?`);
}

function postJSON(path, body, signal) {
  return fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
}

// ---------------------------------------------------------------------------------------------------------
// Opening a photograph

async function init() {
  try {
    state.info = await (await fetch("/api/info")).json();
  } catch (error) {
    unreachable(error);
    return;
  }
  const info = state.info;
  if (info.folder !== null) {
    const select = $("photos");
    for (const name of info.photos) select.add(new Option(name, name));
    if (!info.photos.length) select.options[0].text = "the folder holds no files";
    $("folder-open").hidden = false;
  } else {
    $("empty").textContent = "Open a photograph to begin: upload one. It is coloured at once; then click a thing " +
      "whose colour you know and choose that colour.";
  }
  if (!info.hints) {
    $("point-help").textContent =
      "This model takes no hints (it was trained without them): it colours on its own, and points cannot be added.";
  }
  if (!info.suggestions) {
    $("suggestions").textContent = info.hints
      ? "This model predicts one colour, not a distribution: it suggests none. Choose with the colour picker."
      : "";
  }
  setStatus(`Saving into ${info.output}/`);
  wire();
}

function abortInFlight() {
  if (state.inFlight) state.inFlight.abort();
  state.inFlight = null;
  state.pending = false;
  $("frame").classList.remove("busy");
}

async function openFrom(request) {
  abortInFlight();
  setStatus("Opening…");
  let photo;
  let before;
  try {
    const response = await request;
    if (!response.ok) {
      showMessage(await errorOf(response));
      statusLine();
      return;
    }
    photo = await response.json();
    const grey = await fetch(`/api/before?id=${encodeURIComponent(photo.id)}`);
    if (!grey.ok) {
      showMessage(await errorOf(grey));
      statusLine();
      return;
    }
    before = await createImageBitmap(await grey.blob());
  } catch (error) {
    unreachable(error);
    statusLine();
    return;
  }
  clearMessage();
  if (photo.note) showMessage(photo.note, true);
  state.photo = photo;
  state.before = before;
  state.colour = before;
  state.points = photo.points.map((p) => ({ ...p }));
  state.selected = -1;
  state.history = [];
  $("saved").textContent = "";
  $("empty").hidden = true;
  $("frame").hidden = false;
  picture.width = photo.shown_width;
  picture.height = photo.shown_height;
  fit();
  select(-1);
  changed(performance.now());
}

function fit() {
  if (!state.photo) return;
  const stage = $("stage");
  const top = stage.getBoundingClientRect().top + window.scrollY;
  const room = Math.max(240, window.innerHeight - top - 24);
  const { shown_width: w, shown_height: h } = state.photo;
  const scale = Math.min(stage.clientWidth / w, room / h);
  picture.style.width = `${Math.max(1, Math.floor(w * scale))}px`;
  picture.style.height = `${Math.max(1, Math.floor(h * scale))}px`;
  marks.width = Math.round(w * scale * devicePixelRatio);
  marks.height = Math.round(h * scale * devicePixelRatio);
  draw();
}

// ---------------------------------------------------------------------------------------------------------
// Drawing

function draw() {
  if (!state.colour) return;
  const ctx = picture.getContext("2d");
  ctx.drawImage(state.colour, 0, 0, picture.width, picture.height);
  const split = Number($("split").value) / 100;
  if (split > 0 && state.before) {
    const width = Math.round(split * picture.width);
    ctx.drawImage(state.before, 0, 0, width, picture.height, 0, 0, width, picture.height);
  }
  drawMarks();
}

function drawMarks() {
  const ctx = marks.getContext("2d");
  ctx.clearRect(0, 0, marks.width, marks.height);
  if (!state.photo) return;
  const dpr = devicePixelRatio;
  const split = Number($("split").value) / 100;
  if (split > 0) {
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(Math.round(split * marks.width) - dpr, 0, 2 * dpr, marks.height);
  }
  state.points.forEach((point, i) => {
    const [x, y] = onScreen(point, marks.width, marks.height);
    const radius = (i === state.selected ? RADIUS + 2 : RADIUS) * dpr;
    ctx.beginPath();
    ctx.arc(x, y, radius, 0, 2 * Math.PI);
    ctx.fillStyle = point.color;
    ctx.fill();
    ctx.lineWidth = 2 * dpr;
    ctx.strokeStyle = "#ffffff";
    ctx.stroke();
    ctx.beginPath();
    ctx.arc(x, y, radius + 1.5 * dpr, 0, 2 * Math.PI);
    ctx.lineWidth = (i === state.selected ? 2 : 1) * dpr;
    ctx.strokeStyle = i === state.selected ? "#1a5fb4" : "rgba(0, 0, 0, 0.7)";
    ctx.stroke();
  });
}

function onScreen(point, width, height) {
  return [((point.x + 0.5) / state.photo.width) * width, ((point.y + 0.5) / state.photo.height) * height];
}

function toHex(r, g, b) {
  return `#${[r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("")}`;
}

function colourShownAt(x, y) {
  const bitmap = state.colour;
  if (sampled !== bitmap) {
    sampler.canvas.width = bitmap.width;
    sampler.canvas.height = bitmap.height;
    sampler.drawImage(bitmap, 0, 0);
    sampled = bitmap;
  }
  const sx = Math.min(bitmap.width - 1, Math.floor(((x + 0.5) / state.photo.width) * bitmap.width));
  const sy = Math.min(bitmap.height - 1, Math.floor(((y + 0.5) / state.photo.height) * bitmap.height));
  const [r, g, b] = sampler.getImageData(sx, sy, 1, 1).data;
  return toHex(r, g, b);
}

function statusLine() {
  if (!state.photo) {
    setStatus(state.info ? `Saving into ${state.info.output}/` : "");
    return;
  }
  const { name, width, height } = state.photo;
  const count = state.points.length;
  setStatus(`${name}, ${width}×${height}: ${count} point${count === 1 ? "" : "s"}`);
}

function updateControls() {
  const open = state.photo !== null;
  const point = state.points[state.selected];
  $("picker").disabled = !point;
  $("delete").disabled = !point;
  $("undo").disabled = !state.history.length;
  $("clear").disabled = !state.points.length;
  $("save").disabled = !open;
  $("split").disabled = !open;
  if (point) $("picker").value = point.color;
  statusLine();
}

// ---------------------------------------------------------------------------------------------------------
// Colouring: one request in flight, later changes folded into the next

function plain(point) {
  return { x: point.x, y: point.y, color: point.color, size: point.size };
}

function changed(time) {
  state.changedAt = time;
  drawMarks();
  updateControls();
  if (state.inFlight) {
    state.pending = true;
  } else {
    sendColour();
  }
}

async function sendColour() {
  const photo = state.photo;
  const seq = ++state.seq;
  const started = state.changedAt;
  const controller = new AbortController();
  state.pending = false;
  state.inFlight = controller;
  $("frame").classList.add("busy");
  try {
    const response = await postJSON(
      "/api/colour",
      { id: photo.id, seq, points: state.points.map(plain) },
      controller.signal,
    );
    if (response.status === 409) {
      // overtaken by a newer request of this photograph: it brings the picture
    } else if (!response.ok) {
      showMessage(await errorOf(response));
    } else {
      const bitmap = await createImageBitmap(await response.blob());
      if (state.photo === photo && !controller.signal.aborted) {
        state.colour = bitmap;
        draw();
        await new Promise(requestAnimationFrame);
        state.timings.push({ seq, ms: performance.now() - started, server: response.headers.get("Server-Timing") });
        state.rendered = seq;
        document.body.dataset.rendered = String(seq);
      }
    }
  } catch (error) {
    if (error.name !== "AbortError") unreachable(error);
  } finally {
    if (state.inFlight === controller) {
      state.inFlight = null;
      $("frame").classList.remove("busy");
    }
  }
  if (state.photo !== photo || state.inFlight) return;
  if (state.pending) sendColour();
  else suggest();
}

// ---------------------------------------------------------------------------------------------------------
// Suggestions: the likely colours at the selected point, given the other points

async function suggest() {
  if (!state.wantSuggestions || state.inFlight || !state.info.suggestions) return;
  const point = state.points[state.selected];
  if (!point) return;
  state.wantSuggestions = false;
  const photo = state.photo;
  const seq = ++state.suggestSeq;
  const others = state.points.filter((p) => p !== point).map(plain);
  let found;
  state.suggesting = true;
  try {
    const response = await postJSON("/api/suggest", { id: photo.id, seq, x: point.x, y: point.y, points: others });
    if (response.status === 409) {
      // a newer request, or a colouring that went first: asked again once the picture is drawn
      if (seq === state.suggestSeq && state.points[state.selected] === point) state.wantSuggestions = true;
      return;
    }
    if (!response.ok) {
      showMessage(await errorOf(response));
      return;
    }
    found = (await response.json()).suggestions;
  } catch (error) {
    unreachable(error);
    return;
  } finally {
    if (seq === state.suggestSeq) state.suggesting = false;
  }
  if (seq !== state.suggestSeq || state.photo !== photo || state.points[state.selected] !== point) return;
  showSuggestions(found, point);
}

function showSuggestions(found, point) {
  const box = $("suggestions");
  box.replaceChildren();
  box.classList.remove("help");
  for (const { color, probability } of found) {
    const button = document.createElement("button");
    button.type = "button";
    button.title = `${color}: ${(100 * probability).toFixed(1)}% likely here`;
    button.dataset.color = color;
    button.classList.toggle("chosen", color === point.color);
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = color;
    button.append(swatch, `${Math.round(100 * probability)}%`);
    button.addEventListener("click", () => setColour(color));
    box.append(button);
  }
  document.body.dataset.suggested = String(found.length);
}

function clearSuggestions(text) {
  if (!state.info.suggestions) return;
  const box = $("suggestions");
  box.replaceChildren(text);
  box.classList.add("help");
  delete document.body.dataset.suggested;
}

// ---------------------------------------------------------------------------------------------------------
// Editing

function snapshot() {
  return { points: state.points.map((p) => ({ ...p })), selected: state.selected };
}

function remember(copy = snapshot()) {
  state.history.push(copy);
  if (state.history.length > MAX_HISTORY) state.history.shift();
}

// Suggestions for a newly selected point are asked for by suggest(), after any colouring in flight.
function select(index) {
  const same = index === state.selected;
  state.selected = index;
  state.pickerEditing = false;
  if (index < 0) {
    clearSuggestions("Click the photograph to see the colours the network finds likely there.");
  } else if (!same) {
    clearSuggestions("…");
    state.wantSuggestions = true;
  }
  drawMarks();
  updateControls();
}

function setColour(color) {
  const point = state.points[state.selected];
  if (!point || point.color === color) return;
  if (!state.pickerEditing) remember();
  point.color = color;
  $("picker").value = color;
  for (const button of $("suggestions").querySelectorAll("button")) {
    button.classList.toggle("chosen", button.dataset.color === color);
  }
  changed(performance.now());
}

function deletePoint(index) {
  remember();
  state.points.splice(index, 1);
  select(-1);
  changed(performance.now());
}

function undo() {
  const last = state.history.pop();
  if (!last || !state.photo) return;
  state.points = last.points;
  state.selected = -2; // so that select() takes it as a new choice
  changed(performance.now());
  select(Math.min(last.selected, state.points.length - 1));
}

function photoPoint(event) {
  const rect = marks.getBoundingClientRect();
  const { width, height } = state.photo;
  const x = Math.floor(((event.clientX - rect.left) / rect.width) * width);
  const y = Math.floor(((event.clientY - rect.top) / rect.height) * height);
  return { x: Math.min(width - 1, Math.max(0, x)), y: Math.min(height - 1, Math.max(0, y)) };
}

function hit(event) {
  const rect = marks.getBoundingClientRect();
  for (let i = state.points.length - 1; i >= 0; i--) {
    const [x, y] = onScreen(state.points[i], rect.width, rect.height);
    if (Math.hypot(event.clientX - rect.left - x, event.clientY - rect.top - y) <= HIT) return i;
  }
  return -1;
}

function onPointerDown(event) {
  if (!state.photo || event.button !== 0) return;
  if (!state.info.hints) {
    showMessage("This model takes no hints (it was trained without them): start colorize-studio with a model " +
      "trained with train.hints: true to give colours.");
    return;
  }
  const index = hit(event);
  marks.setPointerCapture(event.pointerId);
  if (index >= 0) {
    state.drag = { index, moved: false, before: snapshot() };
    select(index);
    suggest();
    return;
  }
  const { x, y } = photoPoint(event);
  remember();
  state.points.push({ x, y, color: colourShownAt(x, y), size: state.photo.point_size });
  state.drag = { index: state.points.length - 1, moved: false, before: null };
  changed(event.timeStamp); // the colouring first, then the suggestions for the new point
  select(state.points.length - 1);
}

function onPointerMove(event) {
  if (!state.photo) return;
  if (!state.drag) {
    marks.style.cursor = hit(event) >= 0 ? "grab" : "crosshair";
    return;
  }
  const point = state.points[state.drag.index];
  const { x, y } = photoPoint(event);
  if (point.x === x && point.y === y) return;
  if (!state.drag.moved && state.drag.before) remember(state.drag.before);
  state.drag.moved = true;
  point.x = x;
  point.y = y;
  changed(event.timeStamp);
}

function onPointerUp() {
  if (state.drag && state.drag.moved) {
    clearSuggestions("…");
    state.wantSuggestions = true;
    suggest();
  }
  state.drag = null;
}

async function saveResult() {
  $("save").disabled = true;
  setStatus("Saving at full resolution…");
  try {
    const response = await postJSON("/api/save", { id: state.photo.id, points: state.points.map(plain) });
    if (!response.ok) {
      showMessage(await errorOf(response));
    } else {
      const saved = await response.json();
      $("saved").textContent = `Saved ${saved.photo}` + (saved.hints ? ` and its hints, ${saved.hints}` : "");
      document.body.dataset.saved = saved.photo;
    }
  } catch (error) {
    unreachable(error);
  } finally {
    updateControls();
  }
}

function onUpload() {
  const input = $("upload");
  const file = input.files[0];
  input.value = "";
  if (!file) return;
  const limit = state.info.max_upload_bytes;
  if (file.size > limit) {
    showMessage(`${file.name} is ${(file.size / 2 ** 20).toFixed(1)} MB: this page takes photographs up to ` +
      `${state.info.max_upload_mb} MB (start colorize-studio with a larger --max-upload-mb).`);
    return;
  }
  $("photos").value = "";
  openFrom(fetch("/api/upload", {
    method: "POST",
    headers: { "Content-Type": "application/octet-stream", "X-File-Name": encodeURIComponent(file.name) },
    body: file,
  }));
}

function wire() {
  $("photos").addEventListener("change", (event) => {
    if (event.target.value) openFrom(fetch(`/api/open?name=${encodeURIComponent(event.target.value)}`));
  });
  $("upload").addEventListener("change", onUpload);
  marks.addEventListener("pointerdown", onPointerDown);
  marks.addEventListener("pointermove", onPointerMove);
  marks.addEventListener("pointerup", onPointerUp);
  marks.addEventListener("pointercancel", onPointerUp);
  marks.addEventListener("contextmenu", (event) => {
    event.preventDefault();
    const index = state.photo ? hit(event) : -1;
    if (index >= 0) deletePoint(index);
  });
  $("picker").addEventListener("input", (event) => {
    setColour(event.target.value);
    state.pickerEditing = true; // one Undo step for one visit to the picker
  });
  $("picker").addEventListener("change", () => {
    state.pickerEditing = false;
  });
  $("delete").addEventListener("click", () => state.selected >= 0 && deletePoint(state.selected));
  $("undo").addEventListener("click", undo);
  $("clear").addEventListener("click", () => {
    remember();
    state.points = [];
    select(-1);
    changed(performance.now());
  });
  $("split").addEventListener("input", draw);
  $("save").addEventListener("click", saveResult);
  window.addEventListener("resize", fit);
  document.addEventListener("keydown", (event) => {
    if (event.target instanceof Element && event.target.closest("input, select, textarea")) return;
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
      event.preventDefault();
      undo();
    } else if ((event.key === "Delete" || event.key === "Backspace") && state.selected >= 0) {
      event.preventDefault();
      deletePoint(state.selected);
    }
  });
}

init();
