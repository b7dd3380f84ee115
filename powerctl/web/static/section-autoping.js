// AutoPing: each item's status and counters, refreshed every 5 s (read with the page's X-CSRF,
// so a refresh is a view of this page, not an audited API call); add, pause, resume, remove.
import { $, call, every, onClick, onSubmit, say } from "./core.js";

const ITEMS = "/restapi/autoping/items/";

function cell(row, text, title) {
  const td = row.insertCell();
  td.textContent = text;
  if (title) td.title = title;
  return td;
}

function button(row, action, index, text, extra = {}, className = "") {
  const b = document.createElement("button");
  b.type = "button";
  b.className = className;
  b.dataset.action = action;
  b.dataset.item = index;
  Object.assign(b.dataset, extra);
  b.textContent = text;
  row.cells[row.cells.length - 1].append(b, " ");
}

function render(section, items) {
  const rows = $("[data-autoping-items]", section);
  rows.replaceChildren();
  items.forEach((item, index) => {
    const row = rows.insertRow();
    row.dataset.item = index;
    cell(row, index);
    cell(row, item.addresses.join(", "));
    cell(row, item.script ? `start ${item.script}` : `cycle outlets ${item.outlets.join(",")}`);
    const status = cell(row, item.status, item.reason);
    status.className = `autoping-status ${item.status.replace(" ", "-")}`;
    cell(row, item.tx);
    cell(row, item.rx);
    cell(row, item.hits);
    cell(row, "");
    button(row, "autoping-enable", index, item.enabled ? "Pause" : "Resume", { on: String(!item.enabled) });
    button(row, "autoping-delete", index, "Remove", {}, "danger");
  });
  $("table.autoping", section).hidden = items.length === 0;
  $("[data-autoping-empty]", section).hidden = items.length !== 0;
}

async function reload() {
  const section = $("#autoping");
  if (section) render(section, await call("GET", ITEMS));
}

every(5000, () => reload().catch((err) => say($("#autoping"), err.message, false)));

// the server's own validation decides; the page only splits the fields into lists
const words = (text) => text.split(/[\s,]+/).filter(Boolean);

onSubmit("autoping-add", async (form) => {
  const addresses = words(form.elements.addresses.value);
  const outlets = words(form.elements.outlets.value).map((word) => (/^\d+$/.test(word) ? Number(word) : word));
  const index = await call("POST", ITEMS, { addresses, outlets });
  form.reset();
  await reload();
  say(form, `Item ${index} added: it arms after its first answers.`, true);
});

// an item is one value: PUT it back whole with `enabled` changed (its state is kept)
const WRITABLE = ["addresses", "outlets", "enabled", "pings_before_enabling", "script", "resumption_trial"];

onClick("autoping-enable", async (b) => {
  const on = b.dataset.on === "true";
  const item = await call("GET", `${ITEMS}${b.dataset.item}/`);
  const spec = Object.fromEntries(WRITABLE.map((key) => [key, item[key]]));
  await call("PUT", `${ITEMS}${b.dataset.item}/`, { ...spec, enabled: on });
  await reload();
  say($("#autoping"), `Item ${b.dataset.item} ${on ? "resumed" : "paused"}.`, true);
});

onClick("autoping-delete", async (b) => {
  await call("DELETE", `${ITEMS}${b.dataset.item}/`);
  await reload();
  say($("#autoping"), `Item ${b.dataset.item} removed.`, true);
});
