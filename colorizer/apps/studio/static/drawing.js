// Colorize studio, the canvas: the photograph as coloured (or grey, left of the slider), the points over it,
// and where a press on it lands. Loaded first by index.html; server.js and app.js follow, and share its
// top-level names (`$`, the canvases) as the page's scripts do; `state` is app.js's.
"use strict";

const $ = (id) => document.getElementById(id);
const HIT = 10; // CSS pixels: a press this close to a point takes that point
const RADIUS = 7; // CSS pixels: a point's mark

const picture = $("picture");
const marks = $("marks");
const sampler = document.createElement("canvas").getContext("2d", { willReadFrequently: true });
let sampled = null;

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
