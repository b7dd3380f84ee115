// What every section of the settings page shares: requests with the page's X-CSRF token, a
// note in place for each action, in-place refreshes of sections, and polling.
"use strict";

export const csrf = document.querySelector('meta[name="csrf-token"]').content;
export const $ = (selector, root = document) => root.querySelector(selector);
export const segment = (value) => encodeURIComponent(value);
// Against the origin, never the page's own URL: a page opened as http://user:pw@host/ would
// otherwise make every request a URL with credentials in it, which fetch refuses (Firefox).
const here = (path) => new URL(path, location.origin);

// Every request carries X-CSRF: changes need it, and reads with it count as views of this
// page (audited once, at the sign-in), not as API calls.
export async function call(method, url, body) {
  const init = { method, credentials: "same-origin", headers: { "X-CSRF": csrf } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(here(url), init);
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch (_) { data = text; }
  }
  if (!response.ok) {
    throw new Error((data && data.message) || `${response.status} ${response.statusText}`);
  }
  return data;
}

// The note of the section holding `element` (or the page's status line).
export function say(element, message, ok) {
  const section = element && element.closest ? element.closest("section") : null;
  const note = (section && section.querySelector(".note")) || $("#status");
  note.textContent = message;
  note.className = `note ${ok ? "ok" : "error"}`;
}

// Re-render sections from the server's page (escaped there), keeping everything else as it is.
export async function refresh(...ids) {
  const response = await fetch(here(location.pathname), { credentials: "same-origin", headers: { "X-CSRF": csrf } });
  if (!response.ok) throw new Error(`reloading the page: ${response.status} ${response.statusText}`);
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  for (const id of new Set([...ids, "audit"])) {
    const fresh = page.getElementById(id);
    const old = document.getElementById(id);
    if (fresh && old) old.replaceWith(document.adoptNode(fresh));
  }
}

// Act, then refresh and confirm in place, or show the server's error there.
export async function act(element, sections, work, done) {
  try {
    await work();
  } catch (err) {
    say(element, err.message, false);
    return false;
  }
  const ids = [].concat(sections);
  const where = element.closest("section");
  try {
    if (ids.length) await refresh(...ids);
  } catch (err) {
    say(element, err.message, false);
    return false;
  }
  // the element may have been replaced: confirm in the section now standing in its place
  const message = typeof done === "function" ? done() : done;
  say((where && document.getElementById(where.id)) || element, message, true);
  return true;
}

const clicks = {};
const submits = {};
export const onClick = (name, handler) => { clicks[name] = handler; };
export const onSubmit = (name, handler) => { submits[name] = handler; };

// One listener per event type: the element matching `selector` names its handler in
// data-<key>; an error it throws is said beside that element.
function delegate(type, selector, key, handlers) {
  document.addEventListener(type, async (event) => {
    const element = event.target.closest(selector);
    if (!element || !handlers[element.dataset[key]]) return;
    event.preventDefault();
    try {
      await handlers[element.dataset[key]](element);
    } catch (err) {
      say(element, err.message, false);
    }
  });
}

delegate("click", "button[data-action]", "action", clicks);
delegate("submit", "form[data-form]", "form", submits);

// Run `task` now and every `ms` while the page is visible; one run at a time.
export function every(ms, task) {
  let running = false;
  const tick = async () => {
    if (running || document.hidden) return;
    running = true;
    try { await task(); } finally { running = false; }
  };
  tick();
  setInterval(tick, ms);
  document.addEventListener("visibilitychange", tick);
}

// Live validation through the server's own parser, so the page never disagrees with the API;
// a scope that parses may still name what does not exist (outlet 9 of 8): a warning.
export async function checkScopes(area) {
  const lines = scopeLines(area);
  const feedback = area.closest("form").querySelector(".scope-feedback");
  if (!lines.length) {
    feedback.replaceChildren();
    return true;
  }
  const query = new URLSearchParams(lines.map((line) => ["scope", line]));
  const results = await call("GET", `/settings/scope-check/?${query}`);
  const items = [];
  results.forEach((result, index) => {
    const item = document.createElement("li");
    item.className = result.ok ? "ok" : "error";
    item.textContent = result.ok ? `line ${index + 1}: ok`
      : `line ${index + 1}, column ${result.column}: ${result.message}`;
    items.push(item);
    for (const warning of result.warnings || []) {
      const warn = document.createElement("li");
      warn.className = "warning";
      warn.textContent = `line ${index + 1}: warning: ${warning}`;
      items.push(warn);
    }
  });
  feedback.replaceChildren(...items);
  const valid = results.every((result) => result.ok);
  area.setAttribute("aria-invalid", String(!valid));
  return valid;
}

export function scopeLines(area) {
  return area.value.split("\n").map((line) => line.trim()).filter(Boolean);
}

let pendingCheck = null;
document.addEventListener("input", (event) => {
  const area = event.target.closest("textarea[data-scopes]");
  if (!area) return;
  clearTimeout(pendingCheck);
  pendingCheck = setTimeout(() => checkScopes(area).catch((err) => say(area, err.message, false)), 250);
});
