// Meters: current values (polled every 5 s) and power and energy history charts.
import { $, call, every, onClick, say, segment } from "./core.js";
import { draw, formatValue } from "./chart.js";

let range = 3600; // seconds of history shown
let known = "";

function showValues(meters) {
  const body = $("#meter-rows");
  if (!body) return;
  const rows = Object.entries(meters).map(([id, m]) => {
    const tr = document.createElement("tr");
    tr.dataset.meter = id;
    const value = m.value === null ? "—" : formatValue(m.value, m.unit);
    for (const text of [m.name, value, id]) tr.insertCell().textContent = text;
    tr.cells[2].className = "muted";
    return tr;
  });
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = tr.insertCell();
    td.colSpan = 3;
    td.className = "empty";
    td.textContent = "this board has no meters";
    rows.push(tr);
  }
  body.replaceChildren(...rows);
  fillChoices(meters);
}

// The meters each chart may show, once the first reading tells which there are.
function fillChoices(meters) {
  const ids = Object.keys(meters).join(",");
  if (ids === known) return;
  known = ids;
  for (const figure of document.querySelectorAll("#meters figure.chart")) {
    const select = $("select", figure);
    const choices = Object.entries(meters).filter(([, m]) => m.quantity === figure.dataset.quantity);
    select.replaceChildren(...choices.map(([id, m]) => new Option(m.name, id)));
    figure.hidden = !choices.length;
  }
  drawCharts();
}

async function drawChart(figure) {
  const id = $("select", figure).value;
  if (!id) return;
  const to = Math.floor(Date.now() / 1000);
  const from = to - range;
  const history = await call("GET", `/restapi/meter/values/${segment(id)}/history/?from=${from}&to=${to}`);
  drawn.set(figure.dataset.quantity, { history, from, to });
  draw($("svg", figure), history, from, to);
}

// The last data of each chart, drawn again at the new size when the window changes.
const drawn = new Map();
let resizing = null;
window.addEventListener("resize", () => {
  clearTimeout(resizing);
  resizing = setTimeout(() => {
    for (const figure of document.querySelectorAll("#meters figure.chart:not([hidden])")) {
      const last = drawn.get(figure.dataset.quantity);
      if (last) draw($("svg", figure), last.history, last.from, last.to);
    }
  }, 150);
});

function drawCharts() {
  for (const figure of document.querySelectorAll("#meters figure.chart:not([hidden])")) {
    drawChart(figure).catch((err) => say(figure, `history of ${$("select", figure).value}: ${err.message}`, false));
  }
}

every(5000, async () => {
  try {
    showValues(await call("GET", "/restapi/meter/values/"));
  } catch (err) {
    say($("#meters"), err.message, false);
  }
});
setInterval(drawCharts, 60000);

document.addEventListener("change", (event) => {
  const figure = event.target.closest("#meters figure.chart");
  if (figure) drawChart(figure).catch((err) => say(figure, err.message, false));
});

onClick("range", async (button) => {
  range = Number(button.dataset.seconds);
  for (const other of document.querySelectorAll('#meters button[data-action="range"]')) {
    other.setAttribute("aria-pressed", String(other === button));
  }
  drawCharts();
});
