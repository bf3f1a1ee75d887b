// The console's keyboard shortcuts: one key, when no field has the focus ("?" lists
// them). Every page: t board, m map, n new incident. The board: j / k next and previous
// incident, Enter or o opens it, f its filters. An incident's page: d dispatch, l call a
// line into the room, r resolve, c cancel, a confirm by other means (supervisors),
// Escape leaves a field.
"use strict";
(function () {
  const SHORTCUTS = [
    ["?", "esta ayuda"],
    ["t", "tablero"], ["m", "mapa"], ["n", "nuevo incidente"],
    ["j / k", "tablero: incidente siguiente / anterior"],
    ["Enter u o", "tablero: abrir el incidente elegido"],
    ["f", "tablero: filtros"],
    ["d", "incidente: despachar"],
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

  function clickButton(name) {
    for (const button of document.querySelectorAll("section.actions button")) {
      if (button.textContent.trim() === name && !button.closest("form").hidden) {
        button.click();
        return true;
      }
    }
    return false;
  }

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && typing(document.activeElement)) {
      document.activeElement.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const onIncident = document.querySelector("main[data-incident]") !== null;
    const actions = {
      "?": help,
      t: () => window.location.assign("/console/"),
      m: () => window.location.assign("/console/map"),
      n: () => window.location.assign("/console/new"),
      j: () => moveRow(1),
      k: () => moveRow(-1),
      o: () => { const a = document.activeElement; if (a && a.closest("#rows")) a.click(); },
      f: () => { const s = document.querySelector("form.filters select:not([disabled])"); if (s) s.focus(); },
      d: () => onIncident && clickButton("Despachar"),
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
