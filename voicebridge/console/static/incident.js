// An incident's page: its live part fetched again whenever the event stream says the
// incident changed, and its actions sent to the API as the person (the session's cookie
// and its CSRF token). Every text the page writes is set with textContent.
"use strict";
(function () {
  const main = document.querySelector("main[data-incident]");
  const incident = main.dataset.incident;
  const part = document.getElementById("live-part");
  const live = document.getElementById("live");
  const result = document.getElementById("result");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const LIVE_TEXT = {
    connecting: "conectando…", live: "en vivo", reconnecting: "reconectando…",
    ended: "sesión terminada",
  };
  let source = null;
  let pending = null;

  function setLive(state) {
    live.dataset.state = state;
    live.textContent = LIVE_TEXT[state];
    document.body.dataset.live = state;
  }

  async function refresh() {
    const response = await fetch("/console/incidents/" + encodeURIComponent(incident) + "/live", {
      credentials: "same-origin", redirect: "manual",
    });
    if (response.type === "opaqueredirect" || response.status === 401) { end(); return; }
    if (!response.ok) return;
    // the service's own template, autoescaped: its HTML replaces the live part
    part.innerHTML = await response.text();
    document.body.dataset.version = part.querySelector("[data-version]").dataset.version;
  }

  function soon() { // changes come in bursts: one fetch for a burst
    if (pending === null) pending = setTimeout(() => { pending = null; refresh(); }, 150);
  }

  function end() {
    if (source) source.close();
    setLive("ended");
  }

  function connect() {
    source = new EventSource("/console/events?incident=" + encodeURIComponent(incident));
    source.addEventListener("hello", () => { setLive("live"); soon(); });
    source.addEventListener("beat", () => setLive("live"));
    source.addEventListener("rows", () => { setLive("live"); soon(); });
    source.addEventListener("resync", soon);
    source.addEventListener("ended", end);
    source.onerror = () => { if (live.dataset.state !== "ended") setLive("reconnecting"); };
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

  connect();
})();
