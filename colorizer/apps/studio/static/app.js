// Colorize studio: the page of `colorize-studio` (colorizer/apps/studio/), its state, its controls and the
// editing of its points. Loaded last by index.html, after drawing.js (the canvas) and server.js (the calls to
// the server), whose top-level names it shares; it starts the page.
"use strict";

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

// ---------------------------------------------------------------------------------------------------------
// Messages and controls

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
