// The analytics page's charts: the Vega-Lite specifications the server wrote, drawn by
// the vendored vega-embed with Vega's expression interpreter (the page's
// Content-Security-Policy allows no eval), numbers and dates in Spanish (es-PE).
(function () {
  "use strict";
  function draw() {
    const specs = JSON.parse(document.getElementById("vb-charts").textContent);
    const locale = JSON.parse(document.getElementById("vb-locale").textContent);
    const options = {
      ast: true,
      renderer: "svg",
      actions: { export: true, source: false, compiled: false, editor: false },
      formatLocale: locale.format,
      timeFormatLocale: locale.time,
      i18n: { SVG_ACTION: "Guardar como SVG", PNG_ACTION: "Guardar como PNG",
              CLICK_TO_VIEW_ACTIONS: "Opciones" },
    };
    const drawn = [];
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      const spec = specs[el.dataset.chart];
      if (!spec) return;
      drawn.push(window.vegaEmbed(el, spec, options).then(function () {
        el.dataset.drawn = "true";
      }).catch(function (error) {
        el.dataset.drawn = "failed";
        el.textContent = "No se pudo dibujar el gráfico: " + error.message;
      }));
    });
    Promise.all(drawn).then(function () { document.body.dataset.charts = "drawn"; });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
