// API clients: create from presets (live scope check), new tokens shown once, revoke, delete.
import { $, act, call, checkScopes, onClick, onSubmit, scopeLines, segment } from "./core.js";

onClick("new-token", async (button) => {
  const client = button.dataset.client;
  const field = document.querySelector(`[data-uses-for="${CSS.escape(client)}"]`);
  const uses = field && field.value ? Number(field.value) : null;
  let made = null;
  const ok = await act(button, ["clients"], async () => {
    made = await call("POST", `/settings/clients/${segment(client)}/tokens/`, { uses });
  }, `Token created for ${client}: copy it from the panel at the top.`);
  if (!ok) return;
  $("#token-client").textContent = client;
  $("#token-value").value = made.token;
  $("#token-curl").value = made.curl;
  $("#token-panel").hidden = false;
  $("#token-panel").scrollIntoView();
  $("#token-value").select();
});

onClick("done", async () => {
  $("#token-value").value = "";
  $("#token-curl").value = "";
  $("#token-panel").hidden = true;
});

onClick("revoke-token", async (button) => {
  const { client, hash } = button.dataset;
  await act(button, ["clients"], () => call("DELETE", `/settings/clients/${segment(client)}/tokens/${segment(hash)}/`),
    `Token ${hash.slice(0, 8)} of ${client} revoked.`);
});

onClick("delete-client", async (button) => {
  const client = button.dataset.client;
  if (!confirm(`Delete ${client} and its tokens? It stays denied until you lift it.`)) return;
  await act(button, ["clients", "denied"], () => call("DELETE", `/restapi/auth/clients/${segment(client)}/`),
    `Client ${client} deleted; its id is denied.`);
});

onClick("preset", async (button) => {
  const area = $("#client-scopes");
  const lines = scopeLines(area);
  if (!lines.includes(button.dataset.scope)) lines.push(button.dataset.scope);
  area.value = lines.join("\n");
  await checkScopes(area);
});

onSubmit("client", async (form) => {
  const id = $("#client-id").value.trim();
  if (!(await checkScopes($("#client-scopes")))) throw new Error("fix the scopes marked above first");
  const exists = document.querySelector(`article[data-client="${CSS.escape(id)}"]`);
  if (exists && !confirm(`${id} exists: replace its scopes and drop its tokens?`)) return;
  const registration = {
    name: $("#client-name").value.trim() || id,
    scopes: Object.fromEntries(scopeLines($("#client-scopes")).map((line) => [line, true])),
    access_tokens: {}, redirect_urls: {}, refresh_tokens: {},
  };
  await act(form, ["clients", "denied"], () => call("PUT", `/restapi/auth/clients/${segment(id)}/`, registration),
    `Client ${id} saved: make it a token below.`);
});
