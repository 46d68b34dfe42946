// Broadcasts: on the new-broadcast form, templates filtered by channel, the audience's estimate,
// and the person's time zone for a scheduled time; on a broadcast's page, its progress watched
// until every message has an outcome.
(function () {
  "use strict";

  var form = document.getElementById("broadcast-form");
  if (form) {
    var channel = document.getElementById("channel");
    var template = document.getElementById("templateId");
    var filter = function () {
      template.querySelectorAll("optgroup").forEach(function (group) {
        var mine = group.getAttribute("data-channel") === channel.value;
        group.hidden = !mine;
        group.disabled = !mine;
      });
      var selected = template.options[template.selectedIndex];
      if (selected && selected.getAttribute("data-channel") && selected.getAttribute("data-channel") !== channel.value) {
        template.value = "";
      }
    };
    channel.addEventListener("change", filter);
    // Picking a template of another channel switches the channel to it.
    template.addEventListener("change", function () {
      var selected = template.options[template.selectedIndex];
      var own = selected && selected.getAttribute("data-channel");
      if (own && own !== channel.value) { channel.value = own; filter(); template.value = selected.value; }
    });
    filter();

    var audience = document.getElementById("audienceId");
    var estimate = document.getElementById("broadcast-estimate");
    var asked = 0;
    var showEstimate = function () {
      var call = ++asked;
      if (!audience.value) {
        estimate.textContent = "Choose an audience to see how many profiles it would reach.";
        return;
      }
      estimate.textContent = "Counting…";
      fetch("/broadcasts/estimate?audienceId=" + encodeURIComponent(audience.value), {
        credentials: "same-origin", headers: { Accept: "application/json" },
      }).then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      }).then(function (answer) {
        if (call !== asked) return;
        if (!answer.ok) { estimate.textContent = answer.body.message || "No estimate."; return; }
        var count = answer.body.recipients;
        estimate.textContent = "Estimate: " + count + " profile" + (count === 1 ? "" : "s") + " in " +
          answer.body.audienceName + " would receive it if it started now.";
      }, function () { if (call === asked) estimate.textContent = "The estimate could not be reached."; });
    };
    audience.addEventListener("change", showEstimate);
    if (audience.value) showEstimate();

    // A time is typed in the person's own zone, which the server cannot know otherwise.
    var zone = document.getElementById("timezone");
    var zoneName = document.getElementById("timezone-name");
    try {
      var own = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (own && zone.value === "UTC") { zone.value = own; zoneName.textContent = own; }
    } catch (e) { /* UTC it stays */ }
    document.getElementById("scheduledAt").addEventListener("input", function () {
      document.getElementById("when-later").checked = true;
    });
  }

  var progress = document.getElementById("broadcast-progress");
  if (progress && !progress.hasAttribute("data-done")) {
    var url = progress.getAttribute("data-progress-url");
    var bar = document.getElementById("broadcast-bar");
    var update = function (values) {
      progress.querySelectorAll("[data-progress]").forEach(function (element) {
        var key = element.getAttribute("data-progress");
        if (values[key] !== undefined) element.textContent = values[key];
      });
      var badge = progress.querySelector('[data-progress="stateLabel"]');
      if (badge) badge.className = "badge " + values.badge;
      (values.outcomes || []).forEach(function (outcome) {
        var cell = progress.querySelector('[data-outcome="' + outcome.name + '"]');
        if (cell) cell.textContent = outcome.count;
      });
      bar.max = values.progressMax;
      bar.value = values.progressValue;
      if (!values.canCancel) {
        var cancel = document.querySelector('form[action$="/cancel"]');
        if (cancel) cancel.hidden = true;
      }
    };
    var poll = function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (values) {
          update(values);
          if (values.isDone) progress.setAttribute("data-done", "");
          else setTimeout(poll, 1500);
        }, function () { setTimeout(poll, 5000); });
    };
    setTimeout(poll, 1000);
  }
})();
