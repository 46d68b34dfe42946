// CSV import: uploads the chosen file's bytes with XMLHttpRequest (for the progress bar) to the
// console, which forwards them to the profiles service; then follows the import's status.
(function () {
  "use strict";

  var form = document.getElementById("csv-upload");
  if (form) {
    var input = document.getElementById("csv-file");
    var area = document.getElementById("upload-progress-area");
    var bar = document.getElementById("upload-progress");
    var status = document.getElementById("upload-status");
    var problems = document.getElementById("upload-problems");
    var button = form.querySelector("button[type=submit]");

    var showProblems = function (lines) {
      var list = problems.querySelector("ul");
      list.textContent = "";
      lines.forEach(function (line) {
        var item = document.createElement("li");
        item.textContent = line;
        list.appendChild(item);
      });
      problems.hidden = false;
      status.textContent = "";
      area.hidden = true;
      button.disabled = false;
    };

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var file = input.files && input.files[0];
      if (!file) {
        showProblems(["Choose a CSV file first."]);
        input.focus();
        return;
      }
      problems.hidden = true;
      area.hidden = false;
      bar.value = 0;
      button.disabled = true;
      status.textContent = "Uploading " + file.name + "…";
      var request = new XMLHttpRequest();
      request.open("POST", "/subscriptions/imports?filename=" + encodeURIComponent(file.name));
      request.setRequestHeader("X-CSRF-Token", window.Engage ? window.Engage.csrf : "");
      request.setRequestHeader("Content-Type", "text/csv");
      request.upload.addEventListener("progress", function (progress) {
        if (progress.lengthComputable) bar.value = Math.round((progress.loaded / progress.total) * 100);
      });
      request.addEventListener("load", function () {
        var body = null;
        try { body = JSON.parse(request.responseText); } catch (e) { body = null; }
        if (request.status === 202 && body && body.href) {
          bar.value = 100;
          status.textContent = "Uploaded. Following the import…";
          window.location.assign(body.href);
        } else if (request.status === 403) {
          showProblems(["The upload was refused: reload the page and try again."]);
        } else {
          showProblems((body && body.problems && body.problems.length) ? body.problems
            : ["The upload failed (" + request.status + "). Try again."]);
        }
      });
      request.addEventListener("error", function () {
        showProblems(["The upload did not reach the console. Check your connection and try again."]);
      });
      request.send(file);
    });
  }

  // An import's page: poll its status until it completes, then reload for the result.
  var watched = document.getElementById("import-progress");
  if (watched && !watched.hasAttribute("data-completed")) {
    var url = watched.getAttribute("data-status-url");
    var bar2 = document.getElementById("import-rows");
    var poll = function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (upload) {
          if (!upload) { setTimeout(poll, 3000); return; }
          if (upload.completed) { window.location.reload(); return; }
          ["statusLabel", "rowsRead", "rowsTotal"].forEach(function (name) {
            watched.querySelectorAll("[data-field=" + name + "]").forEach(function (element) {
              element.textContent = String(upload[name]);
            });
          });
          if (bar2) { bar2.max = upload.progressMax; bar2.value = upload.progressValue; }
          setTimeout(poll, 1000);
        })
        .catch(function () { setTimeout(poll, 3000); });
    };
    setTimeout(poll, 500);
  }
})();
