// A small line chart drawn as inline SVG: no library, nothing fetched but the data.
"use strict";

const NS = "http://www.w3.org/2000/svg";
const PAD = { left: 56, right: 12, top: 10, bottom: 24 };

function node(name, attrs, text) {
  const element = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

// 1234 W -> "1.23 kW"; 3600000 J -> "3.6 MJ"
export function formatValue(value, unit) {
  const size = Math.abs(value);
  for (const [factor, prefix] of [[1e9, "G"], [1e6, "M"], [1e3, "k"]]) {
    if (size >= factor) return `${+(value / factor).toPrecision(3)} ${prefix}${unit}`;
  }
  return `${+value.toPrecision(3)} ${unit}`;
}

function formatTime(seconds, span) {
  const when = new Date(seconds * 1000);
  if (span > 2 * 86400) return when.toLocaleDateString([], { weekday: "short", day: "numeric" });
  return when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// The path's d: one "M" run per stretch without gaps longer than two steps.
export function pathData(points, x, y, step) {
  let d = "";
  let last = null;
  for (const [t, value] of points) {
    if (value === null || value === undefined) { last = null; continue; }
    const gap = last === null || t - last > 2 * step;
    d += `${gap ? "M" : "L"}${x(t).toFixed(1)},${y(value).toFixed(1)}`;
    last = t;
  }
  return d;
}

// Draw `history` ({unit, step, points: [[t, value], ...]}) from `from` to `to` (unix s).
export function draw(svg, history, from, to) {
  const width = Math.max(240, Math.round(svg.clientWidth || 600));
  const height = 180;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);  // drawn at its size: text stays legible
  const values = history.points.map((p) => p[1]).filter((v) => v !== null && v !== undefined);
  const parts = [node("rect", { class: "frame", x: PAD.left, y: PAD.top,
    width: width - PAD.left - PAD.right, height: height - PAD.top - PAD.bottom })];
  if (!values.length) {
    parts.push(node("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "empty" },
      "no history for this range yet"));
    svg.replaceChildren(...parts);
    svg.dataset.points = "0";
    return;
  }
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (low === high) { low -= 1; high += 1; }
  const x = (t) => PAD.left + ((t - from) / (to - from)) * (width - PAD.left - PAD.right);
  const y = (v) => height - PAD.bottom - ((v - low) / (high - low)) * (height - PAD.top - PAD.bottom);
  for (const v of [low, (low + high) / 2, high]) {
    parts.push(node("line", { class: "grid", x1: PAD.left, x2: width - PAD.right, y1: y(v), y2: y(v) }));
    parts.push(node("text", { class: "label", x: PAD.left - 4, y: y(v) + 4, "text-anchor": "end" },
      formatValue(v, history.unit)));
  }
  for (const [t, anchor] of [[from, "start"], [(from + to) / 2, "middle"], [to, "end"]]) {
    parts.push(node("text", { class: "label", x: x(t), y: height - 6, "text-anchor": anchor },
      formatTime(t, to - from)));
  }
  parts.push(node("path", { class: "line", d: pathData(history.points, x, y, history.step || 10) }));
  svg.replaceChildren(...parts);
  svg.dataset.points = String(values.length);
}
