// The settings page: every change is a fetch() carrying the page's X-CSRF token.
"use strict";

const csrf = document.querySelector('meta[name="csrf-token"]').content;
const $ = (selector) => document.querySelector(selector);

function say(message, ok) {
  const status = $("#status");
  status.textContent = message;
  status.className = ok ? "ok" : "error";
}

async function call(method, url, body) {
  const init = { method, credentials: "same-origin", headers: { "X-CSRF": csrf } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
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

const segment = (value) => encodeURIComponent(value);

// The new token's row, so the list matches the panel before the page reloads.
function showToken(client, made) {
  const body = document.querySelector(`[data-tokens-for="${CSS.escape(client)}"]`);
  if (!body) return;
  body.querySelectorAll("td.empty").forEach((cell) => cell.parentElement.remove());
  const row = body.insertRow();
  const code = document.createElement("code");
  code.textContent = `${made.hash.slice(0, 12)}…`;
  row.insertCell().append(code);
  row.insertCell().textContent = made.uses;
  const revoke = document.createElement("button");
  Object.assign(revoke.dataset, { action: "revoke-token", client, hash: made.hash });
  revoke.type = "button";
  revoke.className = "danger";
  revoke.textContent = "Revoke";
  row.insertCell().append(revoke);
}

const actions = {
  async switch(button) {
    const on = button.dataset.on === "true";
    await call("PUT", `/restapi/relay/outlets/${segment(button.dataset.outlet)}/state/`, on);
    location.reload();
  },
  async "new-token"(button) {
    const client = button.dataset.client;
    const field = document.querySelector(`[data-uses-for="${CSS.escape(client)}"]`);
    const uses = field && field.value ? Number(field.value) : null;
    const made = await call("POST", `/settings/clients/${segment(client)}/tokens/`, { uses });
    showToken(client, made);
    $("#token-client").textContent = client;
    $("#token-value").value = made.token;
    $("#token-curl").value = made.curl;
    $("#token-panel").hidden = false;
    $("#token-panel").scrollIntoView();
    $("#token-value").select();
    say(`Token created for ${client}.`, true);
  },
  async "revoke-token"(button) {
    const { client, hash } = button.dataset;
    await call("DELETE", `/settings/clients/${segment(client)}/tokens/${segment(hash)}/`);
    location.reload();
  },
  async "delete-client"(button) {
    const client = button.dataset.client;
    if (!confirm(`Delete ${client} and its tokens? It stays denied until you lift it.`)) return;
    await call("DELETE", `/restapi/auth/clients/${segment(client)}/`);
    location.reload();
  },
  async lift(button) {
    await call("DELETE", `/restapi/auth/denied/${segment(button.dataset.client)}/`);
    location.reload();
  },
  async "revoke-session"(button) {
    await call("DELETE", `/restapi/auth/sessions/${segment(button.dataset.jti)}/`);
    location.reload();
  },
  async preset(button) {
    const area = $("#client-scopes");
    const lines = area.value.split("\n").filter((line) => line.trim());
    if (!lines.includes(button.dataset.scope)) lines.push(button.dataset.scope);
    area.value = lines.join("\n");
    await checkScopes();
  },
  async done() {
    $("#token-panel").hidden = true;
    location.reload();
  },
};

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  event.preventDefault();
  try {
    await actions[button.dataset.action](button);
  } catch (err) {
    say(err.message, false);
  }
});

function scopeLines() {
  return $("#client-scopes").value.split("\n").map((line) => line.trim()).filter(Boolean);
}

// Live validation through the server's own parser, so the page never disagrees with the API.
async function checkScopes() {
  const lines = scopeLines();
  const feedback = $("#scope-feedback");
  if (!lines.length) {
    feedback.replaceChildren();
    return true;
  }
  const query = new URLSearchParams(lines.map((line) => ["scope", line]));
  const results = await call("GET", `/settings/scope-check/?${query}`);
  feedback.replaceChildren(...results.map((result, index) => {
    const item = document.createElement("li");
    item.className = result.ok ? "ok" : "error";
    item.textContent = result.ok ? `line ${index + 1}: ok`
      : `line ${index + 1}, column ${result.column}: ${result.message}`;
    return item;
  }));
  const valid = results.every((result) => result.ok);
  $("#client-scopes").setAttribute("aria-invalid", String(!valid));
  return valid;
}

let pending = null;
$("#client-scopes").addEventListener("input", () => {
  clearTimeout(pending);
  pending = setTimeout(() => checkScopes().catch((err) => say(err.message, false)), 250);
});

$("#create-client").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const id = $("#client-id").value.trim();
    if (!(await checkScopes())) throw new Error("fix the scopes marked above first");
    const exists = document.querySelector(`article[data-client="${CSS.escape(id)}"]`);
    if (exists && !confirm(`${id} exists: replace its scopes and drop its tokens?`)) return;
    const registration = {
      name: $("#client-name").value.trim() || id,
      scopes: Object.fromEntries(scopeLines().map((line) => [line, true])),
      access_tokens: {}, redirect_urls: {}, refresh_tokens: {},
    };
    await call("PUT", `/restapi/auth/clients/${segment(id)}/`, registration);
    location.reload();
  } catch (err) {
    say(err.message, false);
  }
});
