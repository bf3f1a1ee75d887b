// The console's keyboard shortcuts: one key, when no field has the focus ("?" lists
// them). Every page: t board, m map, n new incident. The board: j / k next and previous
// incident, Enter or o opens it, f its filters. An incident's page: d dispatch, l call a
// line into the room, r resolve, c cancel, a confirm by other means (supervisors); d
// only brings the focus to Despachar (Enter dispatches), no single key calls anyone.
// Escape leaves a field.
"use strict";
(function () {
  const SHORTCUTS = [
    ["?", "esta ayuda"],
    ["t", "tablero"], ["m", "mapa"], ["n", "nuevo incidente"],
    ["j / k", "tablero: incidente siguiente / anterior"],
    ["Enter u o", "tablero: abrir el incidente elegido"],
    ["f", "tablero: filtros"],
    ["d", "incidente: el botón Despachar (Enter despacha)"],
    ["l", "incidente: llamar a la sala"],
    ["r", "incidente: resolver"], ["c", "incidente: cancelar"],
    ["a", "incidente: confirmar por otro medio (supervisión)"],
    ["Esc", "salir del campo"],
  ];

  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" ||
      el.isContentEditable);
  }

  function help() {
    let dialog = document.getElementById("keys-help");
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.id = "keys-help";
      dialog.setAttribute("aria-labelledby", "keys-title");
      const title = document.createElement("h2");
      title.id = "keys-title";
      title.textContent = "Atajos de teclado";
      dialog.appendChild(title);
      const list = document.createElement("dl");
      for (const [key, what] of SHORTCUTS) {
        const dt = document.createElement("dt");
        const kbd = document.createElement("kbd");
        kbd.textContent = key;
        dt.appendChild(kbd);
        const dd = document.createElement("dd");
        dd.textContent = what;
        list.appendChild(dt);
        list.appendChild(dd);
      }
      dialog.appendChild(list);
      const close = document.createElement("button");
      close.textContent = "Cerrar";
      close.addEventListener("click", () => dialog.close());
      dialog.appendChild(close);
      document.body.appendChild(dialog);
    }
    dialog.showModal();
  }

  function rows() { return Array.from(document.querySelectorAll("#rows tr")); }

  function moveRow(step) {
    const all = rows();
    if (!all.length) return;
    const current = all.indexOf(document.activeElement && document.activeElement.closest("tr"));
    const next = all[Math.max(0, Math.min(all.length - 1, current + step))] || all[0];
    const link = next.querySelector("a");
    if (link) link.focus();
  }

  function focusForm(selector) {
    const field = document.querySelector(selector);
    if (field && !field.closest("form").hidden) { field.focus(); return true; }
    return false;
  }

  function focusButton(name) {
    for (const button of document.querySelectorAll("section.actions button")) {
      if (button.textContent.trim() === name && !button.closest("form").hidden) {
        button.focus();
        return true;
      }
    }
    return false;
  }

  // a form half filled (a call being taken) is not left by a stray key
  function leave(path) {
    const form = document.getElementById("new");
    const written = form && Array.from(form.querySelectorAll("input, textarea"))
      .some((el) => !el.readOnly && el.value.trim() !== "");
    if (written && !window.confirm("Lo escrito en el formulario se perderá. ¿Salir?")) return;
    window.location.assign(path);
  }

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && typing(document.activeElement)) {
      document.activeElement.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (document.querySelector("dialog[open]")) return; // a dialog is in front
    if (event.target.closest && event.target.closest(".leaflet-container")) return; // the map
    const onIncident = document.querySelector("main[data-incident]") !== null;
    const actions = {
      "?": help,
      t: () => leave("/console/"),
      m: () => leave("/console/map"),
      n: () => leave("/console/new"),
      j: () => moveRow(1),
      k: () => moveRow(-1),
      o: () => { const a = document.activeElement; if (a && a.closest("#rows")) a.click(); },
      f: () => { const s = document.querySelector("form.filters select:not([disabled])"); if (s) s.focus(); },
      d: () => onIncident && focusButton("Despachar"), // Enter then dispatches
      l: () => onIncident && focusForm('section.actions input[name="target"]'),
      r: () => onIncident && focusForm('section.actions input[name="status"][value="resolved"] ~ label input[name="cause"]'),
      c: () => onIncident && focusForm('section.actions input[name="status"][value="cancelled"] ~ label input[name="cause"]'),
      a: () => onIncident && focusForm('section.actions select[name="agency"]'),
    };
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });
})();
