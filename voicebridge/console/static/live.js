// Keeping a console page in step with the server: the board's Server-Sent Events
// (/console/events, its filters in the page's query), resumed from the last event id
// after a reconnect, a watchdog on the stream's beats, and a polling fallback
// (/console/board.json) while the stream cannot get through; the header's indicator
// says which. The page gives apply(data, full): rows to show or replace, ids gone.
"use strict";
window.vbLive = function (options) {
  const live = document.getElementById("live");
  const apply = options.apply;
  let position = options.position;
  let source = null;
  let failures = 0;
  let lastMessage = Date.now();
  let pollTimer = null;
  let ended = false;
  const STALE_MS = 40000; // no event nor beat this long: the stream is dead
  const POLL_MS = 5000;
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

  function streamUrl() {
    const params = new URLSearchParams(options.query);
    if (position !== null) params.set("after", String(position));
    return "/console/events?" + params.toString();
  }

  async function fetchBoard(after) {
    const params = new URLSearchParams(options.query);
    if (after !== null) params.set("after", String(after));
    const response = await fetch("/console/board.json?" + params.toString(), {
      credentials: "same-origin", headers: { Accept: "application/json" },
    });
    if (response.status === 401 || response.redirected) { end(); return; }
    if (!response.ok) throw new Error("HTTP " + response.status);
    const data = await response.json();
    apply(data, data.full);
    position = data.position;
  }

  function startPolling() {
    if (pollTimer !== null || ended) return;
    setLive("polling");
    const poll = async () => {
      try { await fetchBoard(position); } catch (e) { /* the next poll tries again */ }
    };
    poll();
    pollTimer = setInterval(poll, POLL_MS);
  }

  function stopPolling() {
    if (pollTimer !== null) { clearInterval(pollTimer); pollTimer = null; }
  }

  function end() {
    ended = true;
    stopPolling();
    if (source) source.close();
    setLive("ended");
  }

  function connect() {
    if (ended) return;
    if (!window.EventSource) { startPolling(); return; }
    if (source) source.close();
    source = new EventSource(streamUrl());
    lastMessage = Date.now();
    const heard = () => {
      lastMessage = Date.now();
      failures = 0;
      stopPolling();
      setLive("live");
    };
    source.addEventListener("hello", heard);
    source.addEventListener("beat", heard);
    source.addEventListener("rows", (ev) => {
      heard();
      apply(JSON.parse(ev.data), false);
      if (ev.lastEventId) position = Number(ev.lastEventId);
    });
    source.addEventListener("resync", (ev) => {
      heard();
      fetchBoard(null).catch(() => startPolling());
      if (ev.lastEventId) position = Number(ev.lastEventId);
    });
    source.addEventListener("ended", () => end());
    source.onerror = () => {
      if (ended) return;
      failures += 1;
      // the browser retries by itself while the stream is CONNECTING; a closed one
      // (an HTTP error: the session over, a proxy refusing it) is ours to reopen
      if (failures >= 3) startPolling(); else setLive("reconnecting");
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(async () => {
          try {
            const check = await fetch("/console/board.json?after=" + (position || 0), {
              credentials: "same-origin", redirect: "manual",
            });
            if (check.status === 401 || check.type === "opaqueredirect") { end(); return; }
          } catch (e) { /* offline: keep trying */ }
          connect();
        }, Math.min(30000, 1000 * failures));
      }
    };
  }

  // a stream that went quiet (a proxy holding it, a sleeping laptop): open a new one
  setInterval(() => {
    if (!ended && Date.now() - lastMessage > STALE_MS) {
      setLive("reconnecting");
      connect();
    }
  }, 5000);

  connect();
  return { refetch: () => fetchBoard(null) };
};
