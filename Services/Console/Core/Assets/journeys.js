// The journey page: fields shown for the choice they belong to, the JSON definition in
// CodeMirror, and the graph's counts refreshed while the journey runs (the server draws the SVG).
(function () {
  "use strict";

  // <div data-show-when="name=value"> is shown only while the field `name` has that value.
  function applyShowWhen(root) {
    root.querySelectorAll("[data-show-when]").forEach(function (element) {
      var rule = element.getAttribute("data-show-when").split("=");
      var field = element.closest("form") && element.closest("form").elements.namedItem(rule[0]);
      if (!field) return;
      element.hidden = field.value !== rule[1];
    });
  }
  document.addEventListener("change", function () { applyShowWhen(document); });
  applyShowWhen(document);

  var textarea = document.getElementById("journey-json");
  if (textarea && window.CodeMirror && !textarea.readOnly) {
    window.CodeMirror.fromTextArea(textarea, {
      mode: { name: "javascript", json: true },
      lineNumbers: true,
      tabSize: 2,
      indentWithTabs: false,
      viewportMargin: 50,
      screenReaderLabel: "Draft definition (JSON)",
    });
  }

  var graph = document.getElementById("journey-graph-svg");
  var url = graph && graph.getAttribute("data-refresh");
  if (!url) return;
  var busy = false;
  function refresh() {
    if (busy || document.hidden) return;
    busy = true;
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error("graph " + response.status);
        return response.text();
      })
      .then(function (svg) {
        // The console's own markup, drawn and escaped by the server; keep the focused box focused.
        if (svg.indexOf("<svg") !== 0) return;
        var focused = document.activeElement && graph.contains(document.activeElement)
          ? document.activeElement.getAttribute("href") : null;
        graph.innerHTML = svg;
        if (focused) {
          var again = graph.querySelector('a[href="' + focused.replace(/"/g, '\\"') + '"]');
          if (again) again.focus();
        }
      })
      .catch(function () { /* the next tick tries again */ })
      .then(function () { busy = false; });
  }
  setInterval(refresh, 3000);
})();
