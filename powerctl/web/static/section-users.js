// Users: add, set a password, admin flag and outlet_access, delete; change my own password.
import { $, act, call, onClick, onSubmit, segment } from "./core.js";

const user = (name) => `/restapi/auth/users/${segment(name)}/`;
const ticked = (root, selector) =>
  Array.from(root.querySelectorAll(selector), (box) => box.checked);

onSubmit("create-user", async (form) => {
  const name = form.elements.name.value.trim();
  const body = {
    name,
    password: form.elements.password.value,
    is_admin: form.elements.is_admin.checked,
    outlet_access: ticked(form, 'input[name="outlet"]'),
  };
  await act(form, ["users"], () => call("POST", "/restapi/auth/users/", body),
    `User ${name} added${body.is_admin ? " (admin)" : ""}.`);
});

onSubmit("set-password", async (form) => {
  const name = form.dataset.user;
  await act(form, ["users"], () => call("PUT", user(name), { password: form.elements.password.value }),
    `Password of ${name} changed.`);
});

onClick("save-user", async (button) => {
  const name = button.dataset.user;
  const tr = button.closest("tr");
  const body = {
    is_admin: $('input[data-field="is_admin"]', tr).checked,
    outlet_access: ticked(tr, 'input[data-field="outlet"]'),
  };
  await act(button, ["users"], () => call("PUT", user(name), body), `User ${name} saved.`);
});

onClick("delete-user", async (button) => {
  const name = button.dataset.user;
  if (!confirm(`Delete user ${name}?`)) return;
  await act(button, ["users"], () => call("DELETE", user(name)), `User ${name} deleted.`);
});

// DLI's own form: the old password and the new one; the browser then asks to sign in again.
onSubmit("my-password", async (form) => {
  const me = $("#whoami").textContent;
  const body = { old_password: form.elements.old.value, new_password: form.elements.new.value };
  const ok = await act(form, [], () => call("PATCH", user(me), body),
    "Your password is changed: your browser asks for it at the next request.");
  if (ok) form.reset();
});
