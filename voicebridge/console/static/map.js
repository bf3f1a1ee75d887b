// The map: Lima's districts drawn from their outlines (no tile server needed), a base
// layer only when the settings name one, and the open incidents as circles coloured by
// state (each with its word in the legend and its tooltip), kept live by live.js.
// Incidents with no point of their own sit at their district's centre, dashed, and are
// listed beside the map.
"use strict";
(function () {
  const config = JSON.parse(document.getElementById("map-config").textContent);
  const count = document.getElementById("map-count");
  const approximate = document.getElementById("approximate");
  const map = L.map("map", { zoomSnap: 0.25, preferCanvas: false, zoomControl: false });
  L.control.zoom({ zoomInTitle: "Acercar", zoomOutTitle: "Alejar" }).addTo(map);
  map.attributionControl.setPrefix("Mapa: Leaflet");
  const markers = new Map(); // incident id -> its circle
  const rows = new Map(); // incident id -> its row
  const centres = new Map(); // ubigeo -> [lat, lon]
  const districts = L.layerGroup().addTo(map);
  const incidents = L.layerGroup().addTo(map);

  if (config.tiles) {
    const credit = document.createElement("span");
    credit.textContent = config.attribution; // the setting as text, never HTML
    L.tileLayer(config.tiles, { attribution: credit.innerHTML, maxZoom: 19 }).addTo(map);
  } else {
    map.attributionControl.addAttribution("Distritos: IGN (joseluisq/peru-geojson-datasets)");
  }

  const GROUP = {
    received: "received", dispatched: "calling", ringing: "calling",
    acknowledged: "confirmed", bridged: "confirmed", unanswered: "unanswered",
  };

  function asText(value) { // a tooltip's content as text, never HTML
    const span = document.createElement("span");
    span.textContent = value;
    return span;
  }

  let total = 0; // the open incidents the filters match (the first page holds 200 at most)

  function where(r) {
    if (r.lat !== null && r.lon !== null) return { point: [r.lat, r.lon], exact: true };
    const centre = centres.get(r.district);
    return centre ? { point: centre, exact: false } : null;
  }

  function label(r) {
    return r.id + " · " + r.category_label + " · " + r.priority_label + " · " + r.status_label +
      " · " + r.district_name;
  }

  function place(r) {
    const old = markers.get(r.id);
    if (old) { incidents.removeLayer(old); markers.delete(r.id); }
    const at = where(r);
    if (!at) return;
    const group = GROUP[r.status] || "received";
    const circle = L.circleMarker(at.point, {
      radius: r.priority === "critical" ? 10 : r.priority === "high" ? 8 : 6,
      className: "inc st-" + group + (at.exact ? "" : " approx") + " prio-" + r.priority,
      weight: 2, fillOpacity: 0.85,
    });
    circle.bindTooltip(asText(label(r)));
    const popup = document.createElement("div");
    const link = document.createElement("a");
    link.href = "/console/incidents/" + encodeURIComponent(r.id);
    link.textContent = r.id;
    popup.appendChild(link);
    popup.appendChild(document.createTextNode(" · " + r.category_label + " · " + r.status_label));
    const text = document.createElement("p");
    text.textContent = r.place;
    popup.appendChild(text);
    circle.bindPopup(popup);
    circle.addTo(incidents);
    const path = circle.getElement();
    if (path) {
      path.setAttribute("data-id", r.id);
      path.setAttribute("aria-label", label(r));
    }
    markers.set(r.id, circle);
  }

  function showList() {
    approximate.replaceChildren();
    for (const r of rows.values()) {
      if (r.lat !== null && r.lon !== null) continue;
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = "/console/incidents/" + encodeURIComponent(r.id);
      a.textContent = r.id;
      li.appendChild(a);
      li.appendChild(document.createTextNode(" · " + r.category_label + " · " + r.district_name));
      approximate.appendChild(li);
    }
    const n = rows.size;
    count.textContent = total > n
      ? "Se muestran " + n + " de " + total + " incidentes abiertos: filtre por distrito para ver los demás."
      : n + (n === 1 ? " incidente abierto en el mapa." : " incidentes abiertos en el mapa.");
  }

  function apply(data, full) {
    if (full) {
      total = data.total || 0;
      rows.clear();
      incidents.clearLayers();
      markers.clear();
    }
    for (const r of data.rows) {
      const known = rows.get(r.id);
      if (known && known.version > r.version) continue;
      if (!r.open) { rows.delete(r.id); const m = markers.get(r.id); if (m) incidents.removeLayer(m); markers.delete(r.id); continue; }
      rows.set(r.id, r);
      place(r);
    }
    for (const id of data.gone || []) {
      rows.delete(id);
      const m = markers.get(id);
      if (m) incidents.removeLayer(m);
      markers.delete(id);
    }
    showList();
  }

  async function start() {
    const response = await fetch("/console/districts.json", { credentials: "same-origin" });
    const data = await response.json();
    const bounds = L.latLngBounds([]);
    for (const d of data.districts) {
      centres.set(d.ubigeo, d.centre);
      const mine = config.district === d.ubigeo;
      const shape = L.polygon(d.rings, {
        className: "district" + (mine ? " mine" : ""), weight: mine ? 3 : 1, fillOpacity: 0.06,
      });
      shape.bindTooltip(asText(d.name), { sticky: true });
      shape.addTo(districts);
      const path = shape.getElement();
      if (path) path.setAttribute("data-ubigeo", d.ubigeo);
      if (!config.district || mine) bounds.extend(shape.getBounds());
    }
    map.fitBounds(bounds, { padding: [10, 10] });
    // the open incidents, then every change
    const live = window.vbLive({ query: config.query, position: null, apply });
    await live.refetch();
  }

  start();
})();
