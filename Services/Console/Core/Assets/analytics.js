// Analytics: draws the page's figures (in #analytics-data, the same as its tables) with Chart.js.
(function () {
  "use strict";
  // Switching the range to dates when one is picked saves a step.
  ["from", "to"].forEach(function (id) {
    var input = document.getElementById(id);
    if (input) input.addEventListener("change", function () { document.getElementById("range").value = "custom"; });
  });
  var canvas = document.getElementById("analytics-chart");
  var source = document.getElementById("analytics-data");
  if (!canvas || !source || !window.Chart) return;
  var figures;
  try { figures = JSON.parse(source.value); } catch (e) { return; }
  var oneBucket = figures.labels.length === 1;
  new window.Chart(canvas, {
    // A single bucket reads better as bars than as a line of one point.
    type: oneBucket ? "bar" : "line",
    data: {
      labels: figures.labels,
      datasets: figures.datasets.map(function (set) {
        return {
          label: set.label, data: set.data, hidden: set.hidden, borderColor: set.color,
          backgroundColor: set.color, tension: 0.2, pointRadius: figures.labels.length > 60 ? 0 : 3,
        };
      }),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      scales: {
        y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: figures.yTitle } },
      },
      plugins: { legend: { position: "bottom" } },
    },
  });
})();
