// AutoPing: each item's status and counters, refreshed every 5 s (read with the page's X-CSRF,
// so a refresh is a view of this page, not an audited API call).
import { $, call, every, say } from "./core.js";

function cell(row, text, title) {
  const td = row.insertCell();
  td.textContent = text;
  if (title) td.title = title;
  return td;
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
  });
  $("table.autoping", section).hidden = items.length === 0;
  $("[data-autoping-empty]", section).hidden = items.length !== 0;
}

every(5000, async () => {
  const section = $("#autoping");
  if (!section) return;
  try {
    render(section, await call("GET", "/restapi/autoping/items/"));
  } catch (err) {
    say(section, err.message, false);
  }
});
