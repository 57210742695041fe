// Colorize studio, the calls to its server (colorizer/apps/studio/server.py, the same origin): what the page
// starts from, opening a photograph, the colouring, the suggestions, Save and uploads.
//
// Points are kept on the page, in pixels of the photograph as displayed, and sent whole with every request: the
// server keeps no edit state, so Undo is a copy of the points. One colouring request is in flight at a time;
// changes made meanwhile are folded into the next one, so a burst of clicks or a drag costs one network run
// per run's time, never a queue of stale ones.
"use strict";

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

// ---------------------------------------------------------------------------------------------------------
// Save and uploads

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
