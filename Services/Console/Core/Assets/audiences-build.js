// An audience's or computed trait's page while its build (backfill) runs: the progress block is
// asked for every second, and the page reloads once the build is done, to show the new members.
(function () {
  "use strict";
  var block = document.querySelector("[data-build]");
  if (!block || block.getAttribute("data-running") !== "true") return;
  var url = block.getAttribute("data-progress-url");

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (!body || typeof body.html !== "string") {
          setTimeout(poll, 3000);
          return;
        }
        block.innerHTML = body.html;
        if (body.running) setTimeout(poll, 1000);
        else window.location.reload();
      }, function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1000);
})();
