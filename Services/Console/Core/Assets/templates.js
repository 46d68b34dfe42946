// The template editor: CodeMirror for an email's HTML (the textarea stays the form field, so the
// page works without scripts), the live preview beside it, render errors marked at their line,
// and a test send's state watched until it settles.
(function () {
  "use strict";
  var form = document.getElementById("template-form");
  if (!form) return;
  var editor = null;

  // MARK: the HTML editor

  var htmlArea = form.querySelector("textarea[data-editor]");
  if (htmlArea && window.CodeMirror) {
    editor = window.CodeMirror.fromTextArea(htmlArea, {
      mode: htmlArea.getAttribute("data-editor"),
      lineNumbers: true,
      lineWrapping: true,
      // Tab leaves the editor, as in any other field: the editor must not trap the keyboard.
      extraKeys: { Tab: false, "Shift-Tab": false },
    });
    // The label names the editor's own input, which takes the focus and the keys.
    var input = editor.getInputField();
    input.id = htmlArea.id + "-editor";
    input.setAttribute("aria-describedby", htmlArea.getAttribute("aria-describedby") || "");
    var label = form.querySelector('label[for="' + htmlArea.id + '"]');
    if (label) {
      label.htmlFor = input.id;
      label.addEventListener("click", function () { editor.focus(); });
    }
    window.templateEditor = editor;
  }

  var marked = [];
  function markLines(positions) {
    marked.forEach(function (handle) {
      if (editor) editor.removeLineClass(handle, "background", "cm-render-error");
    });
    marked = [];
    if (!editor) return;
    positions.forEach(function (position) {
      if (position.field !== "html" || !position.line) return;
      var handle = editor.addLineClass(position.line - 1, "background", "cm-render-error");
      if (handle) marked.push(handle);
    });
  }

  var saved = document.getElementById("template-problems");
  if (saved) {
    try { markLines(JSON.parse(saved.value || "[]")); } catch (e) { /* nothing to mark */ }
  }

  // MARK: the live preview

  var profileInput = document.getElementById("preview-profile");
  var traitsInput = document.getElementById("preview-traits");
  var status = document.getElementById("preview-status");
  var problemsBox = document.getElementById("preview-problems");
  var saveBox = document.getElementById("preview-save-problems");
  var latest = 0;
  var timer = null;

  function draft() {
    var fields = {};
    form.querySelectorAll("[data-content-field]").forEach(function (field) {
      fields[field.name] = field === htmlArea && editor ? editor.getValue() : field.value;
    });
    var purpose = document.getElementById("purpose");
    return {
      templateId: form.getAttribute("data-template-id") || null,
      channel: form.getAttribute("data-channel"),
      purpose: purpose ? purpose.value : form.getAttribute("data-purpose"),
      fields: fields,
      profile: profileInput ? profileInput.value : "",
      traits: traitsInput ? traitsInput.value : "",
    };
  }

  function setText(id, text) {
    var element = document.getElementById(id);
    if (element) element.textContent = text === undefined || text === null || text === "" ? "–" : text;
  }

  function list(box, heading, items) {
    box.textContent = "";
    if (!items || !items.length) { box.hidden = true; return; }
    var title = document.createElement("p");
    var strong = document.createElement("strong");
    strong.textContent = heading;
    title.appendChild(strong);
    box.appendChild(title);
    var ul = document.createElement("ul");
    items.forEach(function (item) {
      var li = document.createElement("li");
      li.textContent = item;
      ul.appendChild(li);
    });
    box.appendChild(ul);
    box.hidden = false;
  }

  // Live problems beside their fields: a content field's box, or the preview's profile and traits.
  function fieldProblems(byField) {
    var names = ["profile", "traits"];
    form.querySelectorAll("[data-content-field]").forEach(function (field) { names.push(field.name); });
    names.forEach(function (name) {
      var box = document.getElementById((name === "profile" || name === "traits" ? "preview-" : "") + name + "-errors");
      if (!box) return;
      box.textContent = "";
      (byField[name] || []).forEach(function (text) {
        var p = document.createElement("p");
        p.className = "field-error";
        p.textContent = text;
        box.appendChild(p);
      });
    });
  }

  function show(rendered) {
    var frame = document.getElementById("preview-frame");
    if (frame) {
      setText("preview-subject", rendered.subject);
      setText("preview-preheader", rendered.preheader);
      var from = [rendered.fromName, rendered.fromAddress].filter(Boolean).join(" ");
      setText("preview-from", from || "the space's SendGrid sender");
      // Rendered in a sandboxed frame (no scripts, no same-origin): never as markup in this page.
      frame.srcdoc = rendered.html || "";
      var textWrap = document.getElementById("preview-text-wrap");
      if (textWrap) {
        textWrap.hidden = !rendered.text;
        document.getElementById("preview-text").textContent = rendered.text || "";
      }
      return;
    }
    var body = document.getElementById("preview-body");
    if (body) body.textContent = rendered.body || "";
    var media = document.getElementById("preview-media");
    if (media) {
      media.textContent = "";
      (rendered.mediaUrls || []).forEach(function (url) {
        var li = document.createElement("li");
        li.textContent = "Media: " + url;
        media.appendChild(li);
      });
    }
    var content = document.getElementById("preview-content");
    if (content) {
      content.hidden = !rendered.contentSid;
      setText("preview-content-sid", rendered.contentSid);
      setText("preview-content-variables", rendered.contentVariables ? JSON.stringify(rendered.contentVariables) : "");
    }
  }

  function refresh() {
    clearTimeout(timer);
    var call = ++latest;
    status.textContent = "Rendering…";
    window.Engage.call("POST", "/templates/preview", draft()).then(function (answer) {
      if (call !== latest) return;  // a newer draft is on its way
      var body = answer.body || {};
      if (answer.status === 200) {
        show(body.rendered || {});
        list(problemsBox, "", []);
        list(saveBox, "Saving would be refused:", body.saveProblems);
        fieldProblems(body.fieldProblems || {});
        markLines([]);
        status.textContent = "Preview for " + body.renderedFor + ".";
      } else {
        list(problemsBox, "The preview cannot render:", body.problems || [body.message || "the preview failed (" + answer.status + ")"]);
        list(saveBox, "", []);
        fieldProblems(body.fieldProblems || {});
        markLines(body.positions || []);
        status.textContent = "Not rendered: see the problems below.";
      }
    }, function () {
      if (call === latest) status.textContent = "The preview could not be reached. Try again.";
    });
  }

  function later(delay) {
    clearTimeout(timer);
    timer = setTimeout(refresh, delay);
  }

  if (status && window.Engage) {
    form.addEventListener("input", function (event) {
      if (event.target.hasAttribute("data-content-field") || event.target.id === "purpose") later(350);
    });
    form.addEventListener("change", function (event) { if (event.target.id === "purpose") later(0); });
    if (editor) editor.on("change", function () { later(350); });
    if (traitsInput) traitsInput.addEventListener("input", function () { later(450); });
    if (profileInput) {
      // A profile is looked up once it has been typed: on leaving the field or pressing Enter.
      profileInput.addEventListener("change", function () { later(0); });
      profileInput.addEventListener("keydown", function (event) {
        if (event.key === "Enter") { event.preventDefault(); later(0); }
      });
    }
    document.getElementById("preview-refresh").addEventListener("click", refresh);
    refresh();
  }

  // MARK: a test send's state

  var state = document.getElementById("test-send-state");
  if (state && !state.hasAttribute("data-final") && window.Engage) {
    var url = state.getAttribute("data-poll-url");
    var started = Date.now();
    var poll = function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (message) {
          var badge = document.getElementById("test-send-badge");
          badge.textContent = message.state;
          badge.className = "badge " + message.badge;
          document.getElementById("test-send-detail").textContent = message.detail || "";
          if (!message.isFinal && Date.now() - started < 120000) setTimeout(poll, 1000);
        }, function () { if (Date.now() - started < 120000) setTimeout(poll, 3000); });
    };
    setTimeout(poll, 700);
  }
})();
