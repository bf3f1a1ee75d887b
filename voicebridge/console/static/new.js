// The new-incident form: as the operator types, /console/lookup says which category and
// district the service understands (and why), and which open incidents nearby it may
// duplicate; a point is picked on the map of the districts. Saving goes to the API as
// the person, with an Idempotency-Key of this form's (a second click saves nothing twice);
// a duplicate picked instead gets the call as one more report.
"use strict";
(function () {
  const form = document.getElementById("new");
  const understood = document.getElementById("understood");
  const where = document.getElementById("where");
  const result = document.getElementById("result");
  const dups = document.getElementById("dups");
  const dupsNone = document.getElementById("dups-none");
  const lat = document.getElementById("lat");
  const lon = document.getElementById("lon");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const config = JSON.parse(document.getElementById("new-config").textContent);
  const key = "console-" + (crypto.randomUUID ? crypto.randomUUID() :
    String(Date.now()) + String(Math.random()).slice(2));
  let timer = null;
  let asked = 0;

  // the map: the districts, and the point picked
  const map = L.map("pick-map", { zoomSnap: 0.25 });
  let marker = null;
  function setPoint(latlng, pan) {
    lat.value = latlng.lat.toFixed(6);
    lon.value = latlng.lng.toFixed(6);
    if (!marker) {
      marker = L.marker(latlng, { draggable: true, keyboard: true, title: "Lugar del incidente" });
      marker.on("dragend", () => setPoint(marker.getLatLng(), false));
      marker.addTo(map);
    } else {
      marker.setLatLng(latlng);
    }
    if (pan) map.panTo(latlng);
    ask();
  }
  map.on("click", (ev) => setPoint(ev.latlng, false));
  fetch("/console/districts.json", { credentials: "same-origin" }).then((r) => r.json()).then((data) => {
    const bounds = L.latLngBounds([]);
    for (const d of data.districts) {
      const mine = config.district === d.ubigeo;
      const shape = L.polygon(d.rings, {
        className: "district" + (mine ? " mine" : ""), weight: mine ? 3 : 1, fillOpacity: 0.06,
      });
      shape.bindTooltip(d.name, { sticky: true });
      shape.on("click", (ev) => setPoint(ev.latlng, false));
      shape.addTo(map);
      if (!config.district || mine) bounds.extend(shape.getBounds());
    }
    map.fitBounds(bounds, { padding: [5, 5] });
  });

  function value(id) { return document.getElementById(id).value.trim(); }

  function ask() {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(lookup, 300);
  }

  async function lookup() {
    timer = null;
    const params = new URLSearchParams();
    for (const name of ["category", "address", "reference", "description", "lat", "lon"]) {
      if (value(name)) params.set(name, value(name));
    }
    if (!config.district && value("district")) params.set("district", value("district"));
    const mine = ++asked;
    const response = await fetch("/console/lookup?" + params.toString(), { credentials: "same-origin" });
    if (mine !== asked) return; // an older answer, late
    const data = await response.json();
    if (!response.ok) {
      const e = data.error || {};
      where.textContent = e.message || "";
      return;
    }
    understood.textContent = data.category
      ? "Se registrará como: " + data.category.label + " (prioridad " + data.category.priority_label + ")."
      : (value("category") ? "No se reconoce esa categoría: elija una de la lista." : "");
    let text = data.district ? "Distrito: " + data.district.name + ". " + data.detail : data.detail;
    if (data.outside) text += " " + data.outside;
    if (data.warning) text += " " + data.warning;
    where.textContent = text;
    where.className = "hint" + (data.warning || data.outside ? " error" : "");
    if (value("lat") && value("lon") && !marker) {
      const point = L.latLng(Number(value("lat")), Number(value("lon")));
      if (Number.isFinite(point.lat) && Number.isFinite(point.lng)) setPoint(point, true);
    }
    showDuplicates(data.duplicates);
  }

  function showDuplicates(rows) {
    dups.replaceChildren();
    dupsNone.hidden = rows.length > 0;
    for (const r of rows) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = "/console/incidents/" + encodeURIComponent(r.id);
      a.textContent = r.id;
      a.target = "_blank";
      li.appendChild(a);
      const far = r.distance_m === null ? "misma dirección" : "a " + r.distance_m + " m";
      li.appendChild(document.createTextNode(" · " + r.category_label + " · " + r.status_label +
        " · " + far + " · " + r.place));
      const join = document.createElement("button");
      join.type = "button";
      join.textContent = "Sumar esta llamada a " + r.id;
      join.addEventListener("click", () => addReport(r.id));
      li.appendChild(document.createElement("br"));
      li.appendChild(join);
      dups.appendChild(li);
    }
  }

  function location() {
    const loc = {};
    if (value("address")) loc.address = value("address");
    if (value("reference")) loc.reference = value("reference");
    if (value("lat") && value("lon")) { loc.lat = Number(value("lat")); loc.lon = Number(value("lon")); }
    return loc;
  }

  function reporter() {
    const who = {};
    if (value("name")) who.name = value("name");
    if (value("phone")) who.phone = value("phone");
    return who;
  }

  function problem(data, status) {
    const error = (data && data.error) || {};
    let text = error.message || ("No se pudo (HTTP " + status + ").");
    for (const f of error.fields || []) text += " «" + f.field + "»: " + f.message + ".";
    return text;
  }

  async function send(path, body, headers) {
    result.textContent = "Guardando…";
    result.className = "result";
    try {
      const response = await fetch(path, {
        method: "POST", credentials: "same-origin",
        headers: Object.assign({ "Content-Type": "application/json", "X-CSRF-Token": csrf }, headers),
        body: JSON.stringify(body),
      });
      const data = await response.json();
      if (!response.ok) { result.textContent = problem(data, response.status); result.className = "result error"; return null; }
      return data;
    } catch (e) {
      result.textContent = "Sin conexión con el servicio: no se guardó nada. Intente de nuevo.";
      result.className = "result error";
      return null;
    }
  }

  async function addReport(id) {
    const body = { description: value("description") || "Otra llamada por el mismo hecho",
                   location: location(), reporter: reporter(), source: "console" };
    const data = await send("/api/v1/incidents/" + encodeURIComponent(id) + "/reports", body, {});
    if (data) window.location.assign("/console/incidents/" + encodeURIComponent(id));
  }

  form.addEventListener("input", ask);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { category: value("category"), description: value("description"),
                   location: location(), reporter: reporter(), source: "console" };
    if (value("priority")) body.priority = value("priority");
    if (!config.district && value("district")) body.district = value("district");
    const data = await send("/api/v1/incidents", body, { "Idempotency-Key": key });
    if (data) window.location.assign("/console/incidents/" + encodeURIComponent(data.id));
  });
})();
