// The dialplan editor (admins): line numbers beside the text, a preview of the contexts it
// renders, a save that shows each problem with its line (a click selects the line), the
// diff of what another admin saved meanwhile, and the trial, switch and rollback of a
// revision with Asterisk's steps. Everything goes through /api/v1/dialplans with the
// person's session and the page's CSRF token.
"use strict";
(function () {
  const config = JSON.parse(document.getElementById("dialplan-config").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const source = document.getElementById("source");
  const gutter = document.getElementById("gutter");
  const result = document.getElementById("result");
  const push = document.getElementById("push");
  const API = "/api/v1/dialplans";

  function numbers() {
    const count = source.value.split("\n").length;
    let text = "";
    for (let n = 1; n <= count; n++) text += n + "\n";
    gutter.textContent = text;
    gutter.scrollTop = source.scrollTop;
  }
  source.addEventListener("input", numbers);
  source.addEventListener("scroll", () => { gutter.scrollTop = source.scrollTop; });
  numbers();

  function selectLine(line) {
    const lines = source.value.split("\n");
    let start = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) start += lines[i].length + 1;
    const end = start + (lines[line - 1] || "").length;
    source.focus();
    source.setSelectionRange(start, end);
    const height = source.scrollHeight / Math.max(lines.length, 1);
    source.scrollTop = Math.max(0, (line - 5) * height);
  }

  async function call(method, path, body) {
    const response = await fetch(path, {
      method,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    return { status: response.status, data };
  }

  function show(target, cls, text) {
    target.replaceChildren();
    const p = document.createElement("p");
    p.className = cls;
    p.textContent = text;
    target.appendChild(p);
    return p;
  }

  function problems(target, error) {
    show(target, "error", error.message);
    const list = document.createElement("ul");
    list.className = "problems";
    for (const field of error.fields || []) {
      const item = document.createElement("li");
      const found = /l\u00ednea (\d+)/.exec(field.field);
      if (found && field.field.startsWith(config.template + ",")) {
        const go = document.createElement("button");
        go.type = "button";
        go.textContent = "ir a la línea " + found[1];
        go.addEventListener("click", () => selectLine(Number(found[1])));
        item.appendChild(go);
      }
      item.appendChild(document.createTextNode(field.field + ": " + field.message));
      list.appendChild(item);
    }
    target.appendChild(list);
  }

  function steps(target, outcome) {
    const ok = outcome.ok;
    show(target, ok ? "ok-note" : "error", ok ? "Hecho." : "No se pudo: nada cambió en vigor.");
    const list = document.createElement("ul");
    list.className = ok ? "steps" : "problems";
    for (const text of outcome.steps.concat(outcome.problems)) {
      const item = document.createElement("li");
      item.textContent = text;
      list.appendChild(item);
    }
    target.appendChild(list);
  }

  function failure(target, answer) {
    const error = (answer.data && answer.data.error) || { message: "Error " + answer.status };
    if (answer.status === 422) return problems(target, error);
    show(target, "error", error.message);
    if (error.diff) {
      const pre = document.createElement("pre");
      pre.className = "diff";
      pre.textContent = error.diff;
      target.appendChild(pre);
    }
  }

  document.getElementById("preview").addEventListener("click", async () => {
    show(result, "count", "Generando…");
    const answer = await call("POST", `${API}/${config.template}/preview`, { content: source.value });
    const rendered = document.getElementById("rendered");
    const contexts = document.getElementById("contexts");
    if (answer.status !== 200) {
      rendered.hidden = true;
      return failure(result, answer);
    }
    show(result, "ok-note", "La plantilla pasa la validación. Así quedarían los contextos:");
    contexts.replaceChildren();
    for (const [name, text] of Object.entries(answer.data.contexts)) {
      const title = document.createElement("h3");
      title.textContent = "[" + name + "]";
      const pre = document.createElement("pre");
      pre.className = "context";
      pre.textContent = text.split("\n").map((l, i) => String(i + 1).padStart(3) + "  " + l).join("\n");
      contexts.append(title, pre);
    }
    rendered.hidden = false;
  });

  document.getElementById("save").addEventListener("click", async () => {
    show(result, "count", "Validando…");
    const body = {
      content: source.value,
      base: config.base,
      comment: document.getElementById("comment").value,
    };
    const answer = await call("POST", `${API}/${config.template}/revisions`, body);
    if (answer.status === 201) {
      window.location.assign(`?revision=${answer.data.id}&guardada=1`);
    } else if (answer.status === 200) {
      show(result, "count", `Sin cambios: es igual a la revisión ${answer.data.id}.`);
    } else {
      failure(result, answer);
    }
  });

  async function step(path, question) {
    if (question && !window.confirm(question)) return;
    show(push, "count", "Trabajando con Asterisk…");
    const answer = await call("POST", path);
    if (answer.status !== 200) return failure(push, answer);
    steps(push, answer.data);
    if (answer.data.ok && !path.endsWith("/trial")) window.setTimeout(() => window.location.reload(), 1500);
  }

  for (const button of document.querySelectorAll("button.trial")) {
    button.addEventListener("click", () => step(`${API}/revisions/${button.dataset.revision}/trial`));
  }
  for (const button of document.querySelectorAll("button.switch")) {
    button.addEventListener("click", () => step(
      `${API}/revisions/${button.dataset.revision}/switch`,
      `¿Poner en vigor la revisión ${button.dataset.revision}? Se prueba antes en Asterisk.`,
    ));
  }
  document.getElementById("rollback").addEventListener("click", () => step(
    `${API}/rollback`, "¿Volver a la revisión que estaba en vigor antes del último cambio?",
  ));
})();
