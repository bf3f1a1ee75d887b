// The live board: its rows kept in step with the server by live.js (Server-Sent Events,
// resumed after a reconnect, with a polling fallback). No library; every text is set
// with textContent (nothing the server sends is parsed as HTML).
"use strict";
(function () {
  const config = JSON.parse(document.getElementById("board-config").textContent);
  const tbody = document.getElementById("rows");
  const empty = document.getElementById("empty");
  const count = document.getElementById("count");
  const skew = Date.parse(config.now) - Date.now(); // the server's clock minus ours
  const rows = new Map(); // incident id -> its row's data
  const selected = new Set(); // incidents ticked for a bulk action (supervisors)
  function order(a, b) {
    if (a.priority_rank !== b.priority_rank) return a.priority_rank - b.priority_rank;
    if (a.created_at !== b.created_at) return a.created_at < b.created_at ? 1 : -1;
    return a.id < b.id ? 1 : -1;
  }

  function cell(tr, text, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    if (text !== undefined) td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function build(r) {
    const tr = document.createElement("tr");
    tr.id = "row-" + r.id;
    tr.dataset.id = r.id;
    tr.dataset.version = r.version;
    tr.className = "prio-" + r.priority;
    if (config.bulk) {
      const box = document.createElement("input");
      box.type = "checkbox";
      box.className = "pick";
      box.checked = selected.has(r.id);
      box.setAttribute("aria-label", "Seleccionar " + r.id);
      box.addEventListener("change", () => {
        if (box.checked) selected.add(r.id); else selected.delete(r.id);
        showSelected();
      });
      cell(tr).appendChild(box);
    }
    const first = cell(tr);
    const a = document.createElement("a");
    a.href = "/console/incidents/" + encodeURIComponent(r.id);
    a.textContent = r.id;
    first.appendChild(a);
    const badge = document.createElement("span");
    badge.className = "badge prio-" + r.priority;
    badge.textContent = r.priority_label;
    cell(tr).appendChild(badge);
    cell(tr, r.category_label);
    cell(tr, r.district_name);
    cell(tr, r.place, "place");
    cell(tr, r.source_label);
    const status = document.createElement("span");
    status.className = "status st-" + r.status;
    status.textContent = r.status_label;
    cell(tr).appendChild(status);
    const agencies = cell(tr, undefined, "agencies");
    for (const ag of r.agencies) {
      const span = document.createElement("span");
      span.className = "agency ag-" + ag.state;
      span.title = ag.name + ": " + ag.label;
      span.textContent = ag.mark + " " + ag.short + " · " + ag.label;
      agencies.appendChild(span);
      agencies.appendChild(document.createTextNode(" "));
    }
    const elapsed = cell(tr, r.created_local, "elapsed");
    elapsed.dataset.since = r.created_at;
    tick(elapsed);
    return tr;
  }

  function render(fresh) {
    const sorted = Array.from(rows.values()).sort(order).slice(0, config.limit);
    const keep = new Set(sorted.map((r) => r.id));
    for (const tr of Array.from(tbody.children)) {
      if (!keep.has(tr.dataset.id)) tr.remove();
    }
    for (const id of Array.from(selected)) if (!keep.has(id)) selected.delete(id);
    const all = document.getElementById("select-all");
    if (all) all.checked = selected.size > 0 && selected.size === keep.size;
    showSelected();
    let before = null;
    for (let i = sorted.length - 1; i >= 0; i--) {
      const r = sorted[i];
      let tr = document.getElementById("row-" + r.id);
      if (!tr || tr.dataset.version !== String(r.version)) {
        const built = build(r);
        if (tr) tr.replaceWith(built);
        tr = built;
        if (fresh.has(r.id)) tr.classList.add("fresh");
      }
      if (tr.nextSibling !== before || tr.parentNode !== tbody) tbody.insertBefore(tr, before);
      before = tr;
    }
    empty.hidden = rows.size > 0;
    const shown = Math.min(rows.size, config.limit);
    count.textContent = total > shown
      ? "Se muestran " + shown + " de " + total + " incidentes abiertos: filtre para ver los demás."
      : shown + (shown === 1 ? " incidente abierto." : " incidentes abiertos.");
  }

  // the open incidents the filters match: every one is known to the page while they fit
  // in its rows; past that, the page reads its first page again (at most every 10 s)
  // to know the count and to fill the rows of those that closed
  let total = config.total;
  let reloadTimer = null;
  let liveApi = null;
  function reloadSoon() {
    if (reloadTimer !== null || liveApi === null) return;
    reloadTimer = setTimeout(() => {
      reloadTimer = null;
      liveApi.refetch().catch(() => { /* the next change asks again */ });
    }, 10000);
  }

  function apply(data, full) {
    const fresh = new Set();
    if (full) { rows.clear(); total = data.total; }
    for (const r of data.rows) {
      const known = rows.get(r.id);
      if (known && known.version > r.version) continue; // an older copy, late
      if (!r.open) { rows.delete(r.id); continue; }
      if (!known || known.version !== r.version) fresh.add(r.id);
      rows.set(r.id, r);
    }
    for (const id of data.gone || []) rows.delete(id);
    if (!full) {
      if (total <= config.limit) {
        total = rows.size; // every open one was known here: still so
      } else {
        // a row it did not have may be new, or one past its rows it counted already
        total = Math.max(rows.size, total);
        reloadSoon();
      }
    }
    render(fresh);
  }

  function tick(td) {
    const since = Date.parse(td.dataset.since);
    const seconds = Math.max(0, Math.floor((Date.now() + skew - since) / 1000));
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    const text = (h ? h + " h " : "") + String(m).padStart(h ? 2 : 1, "0") + " min " +
      String(s).padStart(2, "0") + " s";
    let level = 0;
    config.thresholds.forEach((t, i) => { if (seconds >= t * 60) level = i + 1; });
    const label = level ? " (más de " + config.thresholds[level - 1] + " min)" : "";
    td.textContent = text + label;
    td.className = "elapsed" + (level ? " t" + level : "");
  }

  function tickAll() {
    for (const td of tbody.querySelectorAll("td.elapsed")) tick(td);
  }

  // supervisors: one action on the incidents ticked (a storm of duplicates)
  const bulk = document.getElementById("bulk");
  const bulkCount = document.getElementById("bulk-count");
  const bulkResult = document.getElementById("bulk-result");
  function showSelected() {
    if (!bulkCount) return;
    const n = selected.size;
    bulkCount.textContent = n + (n === 1 ? " seleccionado" : " seleccionados");
  }
  if (bulk) {
    const all = document.getElementById("select-all");
    all.addEventListener("change", () => {
      // the rows on screen only: never an incident the supervisor cannot see
      for (const box of tbody.querySelectorAll("input.pick")) {
        box.checked = all.checked;
        const id = box.closest("tr").dataset.id;
        if (all.checked) selected.add(id); else selected.delete(id);
      }
      showSelected();
    });
    bulk.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (selected.size === 0) { bulkResult.textContent = "Seleccione al menos un incidente."; return; }
      const form = new FormData(bulk);
      const body = { action: form.get("action"), incidents: Array.from(selected),
                     cause: String(form.get("cause") || "").trim() };
      const into = String(form.get("into") || "").trim();
      if (into && body.action === "merge") body.into = into;
      const apply = bulk.querySelector("button[type=submit]");
      apply.disabled = true;
      const csrf = document.querySelector('meta[name="csrf-token"]').content;
      try {
        const response = await fetch("/api/v1/incidents/bulk", {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
          body: JSON.stringify(body),
        });
        const data = await response.json();
        if (!response.ok) {
          const e = data.error || {};
          let text = e.message || ("No se pudo (HTTP " + response.status + ").");
          for (const f of e.fields || []) text += " «" + f.field + "»: " + f.message + ".";
          bulkResult.textContent = text;
          return;
        }
        let text = data.done + " hecho" + (data.done === 1 ? "" : "s") + ", " + data.failed +
          " rechazado" + (data.failed === 1 ? "" : "s") + ".";
        for (const r of data.results) if (!r.ok) text += " " + r.id + ": " + r.detail + ".";
        bulkResult.textContent = text;
        for (const r of data.results) if (r.ok) selected.delete(r.id);
        for (const box of tbody.querySelectorAll("input.pick")) {
          box.checked = selected.has(box.closest("tr").dataset.id);
        }
        showSelected();
      } catch (e) {
        bulkResult.textContent = "No llegó la respuesta del servicio: puede que se haya hecho " +
          "en parte; mire el tablero antes de repetir.";
      } finally {
        apply.disabled = false;
      }
    });
  }

  for (const r of config.rows) rows.set(r.id, r);
  render(new Set()); // the rows as the script keeps them (with their boxes)
  tickAll();
  setInterval(tickAll, 1000);
  liveApi = window.vbLive({ query: config.query, position: config.position, apply });
})();
