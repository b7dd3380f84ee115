// Roles: create, edit (the same live scope check as clients) and delete.
import { $, act, call, checkScopes, onClick, onSubmit, scopeLines, segment } from "./core.js";

const role = (name) => `/restapi/auth/roles/${segment(name)}/`;

onClick("edit-role", async (button) => {
  const form = $("#role-form");
  form.elements.name.value = button.dataset.role;
  form.elements.description.value = button.dataset.description;
  const area = $("#role-scopes");
  area.value = button.dataset.scopes;
  form.scrollIntoView({ block: "nearest" });
  await checkScopes(area);
});

onClick("delete-role", async (button) => {
  const name = button.dataset.role;
  if (!confirm(`Delete role ${name}? Its session tokens are revoked.`)) return;
  await act(button, ["roles", "sessions"], () => call("DELETE", role(name)), `Role ${name} deleted.`);
});

onSubmit("role", async (form) => {
  const area = $("#role-scopes");
  if (!(await checkScopes(area))) throw new Error("fix the scopes marked above first");
  const name = form.elements.name.value.trim();
  const body = {
    scopes: Object.fromEntries(scopeLines(area).map((line) => [line, true])),
    description: form.elements.description.value.trim(),
  };
  await act(form, ["roles"], () => call("PUT", role(name), body), `Role ${name} saved.`);
});
