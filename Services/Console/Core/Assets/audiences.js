// The condition builder (audiences) and the computed-trait form. The server renders the builder
// from the definition; the JSON textarea beside it is what the form posts. This script writes the
// builder into the JSON on every change, and when the JSON is edited it asks the console to
// render the builder again from it. Without the script, the JSON textarea alone still works.
(function () {
  "use strict";
  var editor = document.querySelector("[data-definition-editor]");
  if (!editor) return;
  var builder = editor.querySelector("[data-builder]");
  var textarea = document.getElementById(editor.getAttribute("data-json"));
  var status = editor.querySelector("[data-json-status]");
  var fragmentUrl = editor.getAttribute("data-fragment-url");
  var statusText = status.textContent;
  var counter = 0;
  var pending = null;
  var renderNumber = 0;

  // ---- fields of one scope (a condition, a group, a filter row), not of the scopes inside it

  function ownerOf(element) {
    var start = element.hasAttribute("data-scope") ? element.parentElement : element;
    return start ? start.closest("[data-scope]") : null;
  }

  function own(scope, selector) {
    return Array.prototype.filter.call(scope.querySelectorAll(selector), function (element) {
      return ownerOf(element) === scope;
    });
  }

  function field(scope, name) {
    return own(scope, '[data-field="' + name + '"]')[0] || null;
  }

  function value(scope, name) {
    var element = field(scope, name);
    return element ? element.value : "";
  }

  // ---- the builder as a definition

  // A number when the text is one; otherwise the text, for the API to name the problem.
  function number(text) {
    var trimmed = text.trim();
    return trimmed !== "" && isFinite(Number(trimmed)) ? Number(trimmed) : trimmed;
  }

  function scalar(text) {
    var trimmed = text.trim();
    if (trimmed === "true") return true;
    if (trimmed === "false") return false;
    if (/^-?\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
    return trimmed;
  }

  function comparison(scope, target) {
    var select = field(scope, "operator");
    var operator = select.value;
    target.operator = operator;
    if (operator === "exists" || operator === "not_exists") return target;
    var input = field(scope, "value");
    var original = input.getAttribute("data-json");
    var chosen = select.options[select.selectedIndex];
    // Unchanged since the server rendered it: the exact value (a string "5" stays a string).
    if (original && input.value === input.defaultValue && chosen && chosen.defaultSelected) {
      try {
        target.value = JSON.parse(original);
        return target;
      } catch (error) { /* read as typed, below */ }
    }
    var text = input.value;
    if (operator === "in" || operator === "not_in") {
      target.value = text.split(",").map(function (item) { return item.trim(); })
        .filter(function (item) { return item !== ""; }).map(scalar);
    } else if (/^(greater|less)_/.test(operator)) {
      target.value = number(text);
    } else if (operator === "equals" || operator === "not_equals") {
      target.value = scalar(text);
    } else {
      target.value = text.trim();
    }
    return target;
  }

  function windowOf(scope) {
    var kind = value(scope, "window");
    if (kind === "within") {
      return { within: { value: number(value(scope, "within-value")), unit: value(scope, "within-unit") } };
    }
    if (kind === "between") {
      return { between: { from: value(scope, "from").trim(), to: value(scope, "to").trim() } };
    }
    return null;
  }

  function filtersOf(scope) {
    return own(scope, "[data-filter]").map(function (row) {
      return comparison(row, { property: value(row, "property").trim() });
    });
  }

  function read(node) {
    var kind = node.getAttribute("data-node");
    var result, span, filters;
    switch (kind) {
      case "group":
        var children = own(node, "[data-node]").map(read);
        var match = value(node, "match");
        if (match === "any") return { type: "or", conditions: children };
        if (match === "none") {
          return children.length === 1 ? { type: "not", condition: children[0] }
            : { type: "not", condition: { type: "or", conditions: children } };
        }
        return { type: "and", conditions: children };
      case "event":
        result = {
          type: "event", event: value(node, "event").trim(),
          count: { operator: value(node, "count-operator"), value: number(value(node, "count-value")) },
        };
        span = windowOf(node);
        if (span) result.window = span;
        filters = filtersOf(node);
        if (filters.length) result.where = filters;
        return result;
      case "trait":
      case "computed_trait":
        return comparison(node, { type: kind, trait: value(node, "trait").trim() });
      case "audience":
        return { type: "audience", audience: value(node, "audience") };
      case "subscription":
        result = { type: "subscription", channel: value(node, "channel") };
        if (result.channel === "EMAIL" && value(node, "group").trim()) result.group = value(node, "group").trim();
        result.status = value(node, "status");
        return result;
      case "raw":
        return JSON.parse(node.getAttribute("data-raw"));
      case "trait_definition":
        result = { type: value(node, "type"), event: value(node, "event").trim() };
        if (result.type !== "event_counter") result.property = value(node, "property").trim();
        if (result.type === "aggregation") result.aggregation = value(node, "aggregation");
        span = result.type === "first" ? null : windowOf(node);
        if (span) result.window = span;
        filters = filtersOf(node);
        if (filters.length) result.where = filters;
        return result;
    }
    return null;
  }

  function writeJSON() {
    var root = builder.querySelector("[data-node]");
    if (!root) return;
    textarea.value = JSON.stringify(read(root), null, 2);
    setStatus(statusText, false);
  }

  function setStatus(text, problem) {
    status.textContent = text;
    status.classList.toggle("field-error", problem);
    status.classList.toggle("hint", !problem);
  }

  // ---- fields shown only for some choices (a window's days, a filter's value)

  function applyShowWhen(scope) {
    own(scope, "[data-show-when]").forEach(function (element) {
      var rule = element.getAttribute("data-show-when");
      var colon = rule.indexOf(":");
      var list = rule.slice(colon + 1);
      var negate = list.charAt(0) === "!";
      if (negate) list = list.slice(1);
      var listed = list.split(",").indexOf(value(scope, rule.slice(0, colon))) >= 0;
      element.hidden = negate ? listed : !listed;
    });
  }

  // ---- adding and removing

  function blank(kind) {
    var template = document.getElementById("audiences-blank-" + kind);
    var prefix = "n" + (++counter);
    var fragment = template.content.cloneNode(true);
    Array.prototype.forEach.call(fragment.querySelectorAll("[id], [for], [aria-describedby]"), function (element) {
      ["id", "for", "aria-describedby"].forEach(function (name) {
        var text = element.getAttribute(name);
        if (text) element.setAttribute(name, text.replace(/__ID__/g, prefix));
      });
    });
    return fragment.firstElementChild;
  }

  function refreshEmpty(group) {
    var empty = own(group, "[data-empty]")[0];
    if (empty) empty.hidden = own(group, "[data-node]").length > 0;
  }

  function focusFirst(element) {
    var target = element && element.querySelector("input, select, textarea, button");
    if (target) target.focus();
  }

  builder.addEventListener("click", function (event) {
    var button = event.target.closest("[data-action]");
    if (!button || !builder.contains(button)) return;
    var scope = button.closest("[data-scope]");
    var action = button.getAttribute("data-action");
    var added, owner;
    if (action === "add-condition" || action === "add-group") {
      var kind = action === "add-group" ? "group" : own(scope, "[data-add-kind]")[0].value;
      added = blank(kind);
      own(scope, "[data-children]")[0].appendChild(added);
      refreshEmpty(scope);
      focusFirst(added);
    } else if (action === "remove") {
      owner = ownerOf(scope);
      scope.remove();
      refreshEmpty(owner);
      focusFirst(own(owner, "[data-add-kind]")[0].parentElement);
    } else if (action === "add-filter") {
      added = blank("filter");
      own(scope, "[data-filter-rows]")[0].appendChild(added);
      focusFirst(added);
    } else if (action === "remove-filter") {
      owner = ownerOf(scope);
      scope.remove();
      var again = own(owner, '[data-action="add-filter"]')[0];
      if (again) again.focus();
    } else {
      return;
    }
    changed();
  });

  function onFieldChange(event) {
    if (event.target.hasAttribute("data-add-kind")) return;
    var scope = event.target.closest("[data-scope]");
    if (scope) applyShowWhen(scope);
    changed();
  }
  builder.addEventListener("input", onFieldChange);
  builder.addEventListener("change", onFieldChange);

  // A builder change wins over a JSON edit whose builder is still on its way.
  function changed() {
    clearTimeout(pending);
    renderNumber += 1;
    writeJSON();
  }

  // ---- the JSON, typed: the builder follows once it parses

  textarea.addEventListener("input", function () {
    clearTimeout(pending);
    pending = setTimeout(renderFromJSON, 400);
  });

  function renderFromJSON() {
    var definition;
    try {
      definition = JSON.parse(textarea.value);
    } catch (error) {
      builder.inert = true;
      builder.classList.add("cb-stale");
      setStatus("The JSON does not parse yet (" + error.message + "). The builder follows again once it does.", true);
      return;
    }
    var mine = ++renderNumber;
    Engage.call("POST", fragmentUrl, { definition: definition, audience: editor.getAttribute("data-audience") || null })
      .then(function (answer) {
        if (mine !== renderNumber) return;
        if (answer.status !== 200 || !answer.body || typeof answer.body.html !== "string") {
          setStatus("The builder could not follow the JSON: " + ((answer.body && answer.body.message) || answer.status), true);
          return;
        }
        builder.innerHTML = answer.body.html;
        builder.inert = false;
        builder.classList.remove("cb-stale");
        setStatus(statusText, false);
      }, function () {
        setStatus("The console did not answer: the builder shows the JSON as it was.", true);
      });
  }
})();
