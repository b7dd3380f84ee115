// The settings page's AutoPing section: each item's status and counters, refreshed every 5 s.
"use strict";

(() => {
  const section = document.getElementById("autoping");
  if (!section) return;
  const table = section.querySelector("table.autoping");
  const rows = section.querySelector("[data-autoping-items]");
  const empty = section.querySelector("[data-autoping-empty]");

  function cell(row, text, title) {
    const td = row.insertCell();
    td.textContent = text;
    if (title) td.title = title;
    return td;
  }

  function render(items) {
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
    table.hidden = items.length === 0;
    empty.hidden = items.length !== 0;
  }

  async function refresh() {
    try {
      const response = await fetch("/restapi/autoping/items/", { credentials: "same-origin" });
      if (response.ok) render(await response.json());
    } catch (_) {
      // the next refresh tries again
    }
  }

  refresh();
  setInterval(refresh, 5000);
})();
