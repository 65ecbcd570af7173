// The console's only script: copy buttons, confirmations, the expiry choice, and the Usage charts (Chart.js).
(function () {
  "use strict";

  function copyFrom(id, button) {
    var field = document.getElementById(id);
    if (!field) return;
    var status = button.parentElement.querySelector(".copied");
    var done = function () { if (status) status.textContent = "Copied"; button.textContent = "Copied"; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(done, function () { field.select(); document.execCommand("copy"); done(); });
    } else {
      field.select();
      document.execCommand("copy");
      done();
    }
  }

  // Axis ticks and tooltips in plain USD ("$0.00009", never "9.00000E-5") and whole tokens.
  function usd(value) {
    var abs = Math.abs(value);
    if (abs === 0) return "$0";
    var text = abs >= 1 ? abs.toFixed(2) : Number(abs.toPrecision(3)).toFixed(6).replace(/(\.\d\d\d*?)0+$/, "$1");
    return (value < 0 ? "-$" : "$") + text;
  }
  function tokens(value) { return Math.round(value).toLocaleString("en-US"); }

  function options(format, isStacked, legend) {
    var label = function (ctx) { return (ctx.dataset.label ? ctx.dataset.label + ": " : "") + format(ctx.parsed.y); };
    return {
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { display: legend }, tooltip: { callbacks: { label: label } } },
      scales: {
        x: { stacked: isStacked },
        y: { stacked: isStacked, beginAtZero: true, ticks: { callback: format, precision: format === tokens ? 0 : undefined } }
      }
    };
  }

  function charts() {
    var data = document.getElementById("usage-data");
    if (!data || typeof Chart === "undefined") return;
    var d = JSON.parse(data.textContent);
    var draw = function (id, config) { var el = document.getElementById(id); if (el) new Chart(el, config); };
    draw("chart-spend-day", { type: "bar", data: { labels: d.days, datasets: d.spend_by_day }, options: options(usd, true, true) });
    draw("chart-tokens-day", { type: "bar", data: { labels: d.days, datasets: d.tokens_by_day }, options: options(tokens, true, true) });
    draw("chart-spend-model", { type: "bar", data: { labels: d.models, datasets: [{ label: "USD", data: d.spend_by_model }] }, options: options(usd, false, false) });
    draw("chart-tokens-model", { type: "bar", data: { labels: d.models, datasets: [{ label: "tokens", data: d.tokens_by_model }] }, options: options(tokens, false, false) });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () { copyFrom(button.getAttribute("data-copy"), button); });
    });
    // Typing a number of days picks the "expires in days" choice it belongs to.
    document.querySelectorAll("input[data-check]").forEach(function (input) {
      input.addEventListener("input", function () {
        var radio = document.getElementById(input.getAttribute("data-check"));
        if (radio && input.value) radio.checked = true;
      });
    });
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
    charts();
  });
})();
