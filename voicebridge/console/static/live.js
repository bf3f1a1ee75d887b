// Keeping a console page in step with the server: the board's Server-Sent Events
// (/console/events, its filters in the page's query), resumed from the last event id
// after a reconnect, a watchdog on the stream's beats, and a polling fallback
// (/console/board.json) while the stream cannot get through; the header's indicator
// says which. The page gives apply(data, full): rows to show or replace, ids gone
// (full: the whole first page, which replaces what it had).
"use strict";
window.vbLive = function (options) {
  const live = document.getElementById("live");
  const apply = options.apply;
  let position = options.position;
  let source = null;
  let failures = 0;
  let heardAt = Date.now();
  let heardOk = false; // the stream is delivering
  let pollTimer = null;
  let helloTimer = null;
  let ended = false;
  let reloading = null; // changes heard while a whole page is being read
  const STALE_MS = 35000; // no event nor beat this long (beats come every 15 s): dead
  const HELLO_MS = 10000; // a stream that says nothing this long after opening: failed
  const POLL_MS = 5000;
  const SHOW_RECONNECTING_MS = 3000; // a normal reconnect takes less: no flicker
  const LIVE_TEXT = {
    connecting: "conectando…",
    live: "en vivo",
    reconnecting: "reconectando…",
    polling: "sin conexión en vivo: se actualiza cada 5 s",
    ended: "sesión terminada",
  };

  function setLive(state) {
    live.dataset.state = state;
    live.textContent = LIVE_TEXT[state];
    document.body.dataset.live = state;
  }

  function query(after) {
    const params = new URLSearchParams(options.query);
    if (after !== null) params.set("after", String(after));
    return params.toString();
  }

  function take(data, full) {
    if (reloading !== null && !full) reloading.push(data);
    apply(data, full);
  }

  async function fetchBoard(after) {
    const full = after === null;
    if (full) reloading = [];
    try {
      const response = await fetch("/console/board.json?" + query(after), {
        credentials: "same-origin", redirect: "manual", headers: { Accept: "application/json" },
      });
      if (response.status === 401 || response.type === "opaqueredirect") { end(); return; }
      if (!response.ok) throw new Error("HTTP " + response.status);
      const data = await response.json();
      if (data.position < (position || 0) && !data.full) return; // a replica behind: later
      apply(data, data.full);
      if (data.full && reloading !== null) {
        // what the stream brought while the page was read is newer than the page
        for (const later of reloading) apply(later, false);
      }
      position = data.position;
    } finally {
      if (full) reloading = null;
    }
  }

  function startPolling() {
    if (pollTimer !== null || ended) return;
    setLive("polling");
    const poll = async () => {
      try { await fetchBoard(position); } catch (e) { /* the next poll tries again */ }
      if (pollTimer !== null) pollTimer = setTimeout(poll, POLL_MS);
    };
    pollTimer = setTimeout(poll, 0);
  }

  function stopPolling() {
    if (pollTimer !== null) { clearTimeout(pollTimer); pollTimer = null; }
  }

  function end() {
    ended = true;
    stopPolling();
    if (source) source.close();
    setLive("ended");
    if (!document.getElementById("ended")) {
      const banner = document.createElement("p");
      banner.id = "ended";
      banner.className = "error ended";
      banner.setAttribute("role", "alert");
      banner.textContent = "Su sesión terminó: lo que ve ya no se actualiza. ";
      const link = document.createElement("a");
      link.href = "/console/login";
      link.textContent = "Ingresar de nuevo";
      banner.appendChild(link);
      document.querySelector("main").prepend(banner);
    }
  }

  function failed() {
    heardOk = false;
    failures += 1;
    if (failures >= 2) { startPolling(); return; }
    if (pollTimer !== null) return; // polling says so already
    setTimeout(() => {
      if (!heardOk && !ended && pollTimer === null) setLive("reconnecting");
    }, SHOW_RECONNECTING_MS);
  }

  function heard() {
    heardAt = Date.now();
    heardOk = true;
    failures = 0;
    if (helloTimer !== null) { clearTimeout(helloTimer); helloTimer = null; }
    stopPolling();
    setLive("live");
  }

  // a stream (re)opening must say hello soon, else it counts as failed and is reopened
  function armHello() {
    if (helloTimer !== null) clearTimeout(helloTimer);
    helloTimer = setTimeout(() => { helloTimer = null; failed(); connect(); }, HELLO_MS);
  }

  function connect() {
    if (ended) return;
    if (!window.EventSource) { startPolling(); return; }
    if (source) source.close();
    source = new EventSource("/console/events?" + query(position));
    heardAt = Date.now();
    armHello();
    source.addEventListener("hello", heard);
    source.addEventListener("beat", heard);
    source.addEventListener("rows", (ev) => {
      heard();
      take(JSON.parse(ev.data), false);
      if (ev.lastEventId) position = Math.max(position || 0, Number(ev.lastEventId));
    });
    source.addEventListener("resync", () => {
      heard();
      fetchBoard(null).catch(() => startPolling());
    });
    source.addEventListener("ended", () => end());
    source.onerror = () => {
      if (ended) return;
      failed();
      armHello(); // the browser's own reconnection must get through too
      // the browser retries by itself while the stream is CONNECTING; a closed one
      // (an HTTP error: the session over, a proxy refusing it) is ours to reopen
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(async () => {
          try {
            const check = await fetch("/console/board.json?" + query(position || 0), {
              credentials: "same-origin", redirect: "manual",
            });
            if (check.status === 401 || check.type === "opaqueredirect") { end(); return; }
          } catch (e) { /* offline: keep trying */ }
          connect();
        }, Math.min(30000, 1000 * failures));
      }
    };
  }

  // a stream that went quiet (a proxy holding it, a sleeping laptop): a new one, and
  // polling meanwhile when that keeps happening
  setInterval(() => {
    if (!ended && Date.now() - heardAt > STALE_MS) {
      failed();
      connect();
    }
  }, 5000);

  connect();
  return { refetch: () => fetchBoard(null) };
};
