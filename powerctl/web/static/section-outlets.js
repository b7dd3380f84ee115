// Outlets: switch, cycle, rename, lock; the physical state is polled every 2 s.
import { $, act, call, every, onClick, onSubmit, say, segment } from "./core.js";

const outlet = (n) => `/restapi/relay/outlets/${segment(n)}`;
const SWITCHES_SHOWN = 10;
const cycling = new Map(); // outlet -> when its cycle switches it back on (ms), as the server said

function row(n) {
  return $(`#outlets li.outlet[data-outlet="${CSS.escape(String(n))}"]`);
}

// Show one outlet as the server reports it; a pending cycle or sequence step shows until done.
function show(n, o) {
  const item = row(n);
  if (!item) return;
  const physical = o.physical_state;
  item.classList.toggle("on", physical === true);
  item.classList.toggle("off", physical === false);
  item.classList.toggle("locked", o.locked);
  item.dataset.locked = String(o.locked);
  $(".state", item).textContent = physical === null ? "?" : physical ? "on" : "off";
  const lock = $('button[data-action="lock"]', item);
  lock.textContent = o.locked ? "Unlock" : "Lock";
  const field = $('input[name="name"]', item);
  if (document.activeElement !== field && field.dataset.saved !== o.name) {
    field.value = o.name;
    field.dataset.saved = o.name;
  }
  let pending = "";
  if (physical !== null && o.transient_state !== physical) {
    const due = cycling.get(n);
    const left = due ? Math.max(0, Math.ceil((due - Date.now()) / 1000)) : null;
    pending = `cycle pending: ${o.transient_state ? "on" : "off"}${left !== null ? ` in ${left} s` : " soon"}`;
  } else {
    cycling.delete(n);
  }
  if (physical === null) pending = "board not answering";
  $(".pending", item).textContent = pending;
  item.classList.toggle("pending", Boolean(pending));
}

async function poll() {
  if (!$("#outlets")) return;
  const outlets = await call("GET", "/restapi/relay/outlets/all;/");
  outlets.forEach((o, n) => show(n, o));
}

const refreshNow = () => poll().catch((err) => say($("#outlets"), err.message, false));
every(2000, refreshNow);

onClick("switch", async (button) => {
  const on = button.dataset.on === "true";
  const n = button.dataset.outlet;
  await act(button, [], () => call("PUT", `${outlet(n)}/state/`, on), `Outlet ${n} switched ${on ? "on" : "off"}.`);
  await refreshNow();
});

onClick("cycle", async (button) => {
  const n = Number(button.dataset.outlet);
  const ok = await act(button, [], async () => {
    const delay = await call("POST", `${outlet(n)}/cycle/`);
    if (typeof delay === "number") cycling.set(n, Date.now() + delay * 1000);
  }, () => {
    const due = cycling.get(n);
    const left = due ? ` in ${Math.round((due - Date.now()) / 1000)} s` : "";
    return `Outlet ${n} cycling: off now, back on${left}.`;
  });
  if (ok) await refreshNow();
});

onClick("lock", async (button) => {
  const n = button.dataset.outlet;
  const locked = row(n).dataset.locked !== "true";
  await act(button, [], () => call("PUT", `${outlet(n)}/locked/`, locked),
    locked ? `Outlet ${n} locked: it refuses switching until unlocked.` : `Outlet ${n} unlocked.`);
  await refreshNow();
});

onSubmit("rename", async (form) => {
  const n = form.dataset.outlet;
  const name = form.elements.name.value.trim();
  const ok = await act(form, [], () => call("PUT", `${outlet(n)}/name/`, name), `Outlet ${n} renamed to “${name}”.`);
  if (ok) form.elements.name.dataset.saved = name;
});

// An outlet's recent switches (who, how), newest first, from its history/ in the audit trail.
onClick("switches", async (button) => {
  const n = button.dataset.outlet;
  const list = $("ol.switches", row(n));
  const open = button.getAttribute("aria-expanded") !== "true";
  button.setAttribute("aria-expanded", String(open));
  list.hidden = !open;
  if (!open) return;
  const to = Math.floor(Date.now() / 1000);
  const switches = await call("GET", `${outlet(n)}/history/?from=${to - 86400}&to=${to}`);
  const items = switches.slice(-SWITCHES_SHOWN).reverse().map((s) => {
    const item = document.createElement("li");
    const when = new Date(s.time * 1000).toLocaleTimeString();
    const what = s.state === true ? "on" : s.state === false ? "off" : String(s.state); // or "cycle"
    item.textContent = `${when} ${what} by ${s.by}${s.via ? ` via ${s.via}` : ""}`;
    return item;
  });
  if (!items.length) {
    const item = document.createElement("li");
    item.className = "empty";
    item.textContent = "no switches in the last day";
    items.push(item);
  }
  list.replaceChildren(...items);
});
