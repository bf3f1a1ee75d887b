// An incident's page: its live part fetched again whenever the event stream (live.js)
// says the incident changed, and every 15 s for a call's progress between its events; and its actions sent to the API as the person (the session's cookie
// and its CSRF token). Every text the page writes is set with textContent.
"use strict";
(function () {
  const main = document.querySelector("main[data-incident]");
  const incident = main.dataset.incident;
  const part = document.getElementById("live-part");
  const result = document.getElementById("result");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const REFRESH_MS = 15000; // a call's progress between events (ringing, answered)
  let pending = null;

  // the actions the incident's state admits (the API refuses the others anyway)
  function updateActions() {
    const head = part.querySelector("[data-status]");
    if (!head) return;
    const open = head.dataset.open === "yes";
    for (const form of document.querySelectorAll("section.actions form[data-when]")) {
      const when = form.dataset.when;
      form.hidden = !(when === "open" ? open : when.split(" ").includes(head.dataset.status));
    }
    document.getElementById("closed-note").hidden = open;
  }

  async function refresh() {
    const typing = document.activeElement;
    if (typing && part.contains(typing) && typing.tagName === "INPUT" && typing.value) {
      soon(2000); // someone is writing in it (a report's split): after they are done
      return;
    }
    const response = await fetch("/console/incidents/" + encodeURIComponent(incident) + "/live", {
      credentials: "same-origin", redirect: "manual",
    });
    if (response.type === "opaqueredirect" || response.status === 401) return; // live.js says
    if (!response.ok) {
      say("No se pudo actualizar la página (HTTP " + response.status + "): recárguela.", false);
      return;
    }
    const opened = Array.from(part.querySelectorAll("details")).map((d) => d.open);
    // the service's own template, autoescaped: its HTML replaces the live part
    part.innerHTML = await response.text();
    part.querySelectorAll("details").forEach((d, n) => { if (n < opened.length) d.open = opened[n]; });
    document.body.dataset.version = part.querySelector("[data-version]").dataset.version;
    updateActions();
  }

  function soon(after) { // changes come in bursts: one fetch for a burst
    if (pending === null) {
      pending = setTimeout(() => { pending = null; refresh().catch(() => {}); }, after || 150);
    }
  }

  function say(text, ok) {
    result.textContent = text;
    result.className = "result " + (ok ? "ok" : "error");
  }

  function body(form) {
    const data = {};
    for (const el of form.elements) {
      if (!el.name) continue;
      if (el.type === "checkbox") { if (el.checked) data[el.name] = true; continue; }
      const value = el.value.trim();
      if (value !== "") data[el.name] = value;
    }
    return data;
  }

  function problem(data, status) {
    const error = (data && data.error) || {};
    let text = error.message || ("No se pudo (HTTP " + status + ").");
    for (const f of error.fields || []) text += " «" + f.field + "»: " + f.message + ".";
    return text;
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.dataset || !form.dataset.api) return;
    event.preventDefault();
    const method = form.dataset.method || "POST";
    const init = {
      method, credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
    };
    if (method !== "DELETE") {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body(form));
    }
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const response = await fetch(form.dataset.api, init);
      let data = null;
      try { data = await response.json(); } catch (e) { data = null; }
      if (response.ok) {
        say(form.dataset.done || "Hecho.", true);
        form.reset();
        result.focus(); // the outcome is read out, and the shortcuts work again
        if (response.status === 201 && data && data.id && data.id !== incident &&
            form.dataset.api.endsWith("/split")) {
          say("Reporte separado: ahora es el incidente " + data.id + ".", true);
        }
        refresh();
      } else {
        say(problem(data, response.status), false);
      }
    } catch (e) {
      say("Sin conexión con el servicio: no se hizo nada. Intente de nuevo.", false);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });

  updateActions();
  // the incident's changes, through the board's stream (and its polling fallback)
  window.vbLive({ query: "incident=" + encodeURIComponent(incident), position: null,
                  apply: () => soon() });
  setInterval(() => soon(), REFRESH_MS);
})();
