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
  const map = L.map("pick-map", { zoomSnap: 0.25, zoomControl: false });
  L.control.zoom({ zoomInTitle: "Acercar", zoomOutTitle: "Alejar" }).addTo(map);
  map.attributionControl.setPrefix("Mapa: Leaflet");
  let marker = null;
  function setPoint(latlng, pan) {
    lat.value = latlng.lat.toFixed(6);
    lon.value = latlng.lng.toFixed(6);
    if (!marker) {
      marker = L.marker(latlng, { draggable: true, keyboard: true, title: "Lugar del incidente",
                                  alt: "Lugar del incidente" });
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
      const name = document.createElement("span");
      name.textContent = d.name;
      shape.bindTooltip(name, { sticky: true });
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
    try { await lookupNow(); } catch (e) { /* the next keystroke asks again */ }
  }

  async function lookupNow() {
    const params = new URLSearchParams();
    for (const name of ["category", "address", "reference", "description", "lat", "lon"]) {
      if (value(name)) params.set(name, value(name));
    }
    if (!config.district && value("district")) params.set("district", value("district"));
    const mine = ++asked;
    const response = await fetch("/console/lookup?" + params.toString(), {
      credentials: "same-origin", redirect: "manual",
    });
    if (response.type === "opaqueredirect") {
      where.textContent = "Su sesión terminó: ingrese de nuevo en otra pestaña; lo escrito se conserva.";
      return;
    }
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
    if (value("lat") && value("lon")) {
      const point = L.latLng(Number(value("lat")), Number(value("lon")));
      const moved = !marker || !marker.getLatLng().equals(point, 1e-7);
      if (Number.isFinite(point.lat) && Number.isFinite(point.lng) && moved) {
        if (!marker) setPoint(point, true); else { marker.setLatLng(point); map.panTo(point); }
      }
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

  let busy = false;
  const fields = () => form.querySelectorAll("input, select, textarea");

  // a save whose outcome is unknown (no answer, a proxy's error page) may have been
  // stored: the form is locked as it was, so that saving again with the same key
  // gives back that incident instead of a second one
  function uncertain() {
    for (const el of fields()) el.readOnly = true;
    result.textContent = "No llegó la respuesta: puede que se haya guardado. Pulse «Registrar " +
      "incidente» otra vez (no se duplicará).";
    result.className = "result error";
  }

  async function send(path, body, headers, keyed) {
    if (busy) return null;
    busy = true;
    const buttons = document.querySelectorAll("main button");
    buttons.forEach((b) => { b.disabled = true; });
    result.textContent = "Guardando…";
    result.className = "result";
    try {
      const response = await fetch(path, {
        method: "POST", credentials: "same-origin",
        headers: Object.assign({ "Content-Type": "application/json", "X-CSRF-Token": csrf }, headers),
        body: JSON.stringify(body),
      });
      let data = null;
      try { data = await response.json(); } catch (e) { data = null; }
      if (response.ok && data) return data;
      if (data === null || response.status >= 500) {
        if (keyed) uncertain(); else { result.textContent = "No llegó la respuesta: mire el incidente antes de repetir."; result.className = "result error"; }
        return null;
      }
      result.textContent = problem(data, response.status);
      result.className = "result error";
      return null;
    } catch (e) {
      if (keyed) uncertain();
      else { result.textContent = "Sin conexión con el servicio: mire el incidente antes de repetir."; result.className = "result error"; }
      return null;
    } finally {
      busy = false;
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  async function addReport(id) {
    const body = { description: value("description") || "Otra llamada por el mismo hecho",
                   location: location(), reporter: reporter(), source: "console" };
    const data = await send("/api/v1/incidents/" + encodeURIComponent(id) + "/reports", body, {}, false);
    if (data) window.location.assign("/console/incidents/" + encodeURIComponent(id));
  }

  form.addEventListener("input", ask);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { category: value("category"), description: value("description"),
                   location: location(), reporter: reporter(), source: "console" };
    if (value("priority")) body.priority = value("priority");
    if (!config.district && value("district")) body.district = value("district");
    const data = await send("/api/v1/incidents", body, { "Idempotency-Key": key }, true);
    if (data) window.location.assign("/console/incidents/" + encodeURIComponent(data.id));
  });
})();
