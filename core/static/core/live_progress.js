// Follows a record's progress live on its admin page (a job, a call-center upload, a chain-wide
// campaign, a push send): polls the JSON its root names and fills the elements the page marks,
// until the answer says `finished`. The page configures it with data attributes only (the
// content security policy forbids inline scripts), and brings its texts already translated.
//
// The root, [data-progress-url]:
//   data-progress-interval   milliseconds between two polls (1500 if absent)
//   data-finished="1"        shown finished: nothing to follow
//   data-progress-reload     when it ends, load the page again, for what only the server renders
// Inside it, each mark names a key of the answer (a dotted path: "counts.synced"):
//   data-progress-bar        a progress bar: its fill (first child) and aria-valuenow
//   data-progress-text       the element's text
//   data-progress-template   its text from this template: each __name__ of
//                            data-progress-fields="name=key …" replaced by its value, and
//                            data-progress-finished-text added once finished
//   data-progress-pairs      its text from a list of [label, count]: "label: n · label: n"
//   data-progress-if         shown only while the key's value is not empty or zero
//   data-progress-rows       a list: each item fills the row [data-id=item.id] inside, whose
//                            marks name the item's keys; there, data-progress-badge marks the
//                            cell of a status badge (core/admin.py status_badge): its class,
//                            label (key_label) and colour (from data-progress-colours around it)
(function () {
  "use strict";

  function valueAt(data, key) {
    return key.split(".").reduce((value, part) => (value == null ? value : value[part]), data);
  }

  // The marks of a scope; those inside a list's rows belong to the list's items.
  function marks(scope, name, rows) {
    return Array.from(scope.querySelectorAll("[" + name + "]")).filter(
      (el) => el.parentElement.closest("[data-progress-rows]") === rows
    );
  }

  function templateText(el, data) {
    let text = el.dataset.progressTemplate;
    for (const field of (el.dataset.progressFields || "").split(/\s+/).filter(Boolean)) {
      const [name, key] = field.split("=");
      text = text.split("__" + name + "__").join(valueAt(data, key));
    }
    if (data.finished && el.dataset.progressFinishedText) {
      text += " " + el.dataset.progressFinishedText;
    }
    return text;
  }

  function fill(scope, data, rows) {
    for (const bar of marks(scope, "data-progress-bar", rows)) {
      const percent = valueAt(data, bar.dataset.progressBar);
      bar.firstElementChild.style.width = percent + "%";
      bar.setAttribute("aria-valuenow", percent);
    }
    for (const el of marks(scope, "data-progress-text", rows)) {
      el.textContent = valueAt(data, el.dataset.progressText);
    }
    for (const el of marks(scope, "data-progress-template", rows)) {
      el.textContent = templateText(el, data);
    }
    for (const el of marks(scope, "data-progress-pairs", rows)) {
      const pairs = valueAt(data, el.dataset.progressPairs);
      el.textContent = pairs.map(([label, n]) => label + ": " + n).join(" · ");
    }
    for (const el of marks(scope, "data-progress-if", rows)) {
      el.hidden = !valueAt(data, el.dataset.progressIf);
    }
    for (const el of marks(scope, "data-progress-badge", rows)) {
      const key = el.dataset.progressBadge;
      const status = valueAt(data, key);
      const colours = JSON.parse(el.closest("[data-progress-colours]").dataset.progressColours);
      const badge = el.querySelector(".sync-badge");
      badge.className = "sync-badge sync-" + status;
      badge.textContent = valueAt(data, key + "_label");
      badge.style.background = colours[status] || "#666666";
    }
    for (const list of marks(scope, "data-progress-rows", rows)) {
      for (const item of valueAt(data, list.dataset.progressRows)) {
        const row = list.querySelector('[data-id="' + item.id + '"]');
        if (row) fill(row, item, list);
      }
    }
  }

  function follow(root) {
    const interval = Number(root.dataset.progressInterval) || 1500;
    async function poll() {
      try {
        const response = await fetch(root.dataset.progressUrl, {
          headers: {Accept: "application/json"},
          credentials: "same-origin",
        });
        if (response.ok) {
          const data = await response.json();
          fill(root, data, null);
          if (data.finished) {
            if ("progressReload" in root.dataset) window.location.reload();
            return;
          }
        }
      } catch (error) {
        // Network hiccup: try again on the next tick.
      }
      setTimeout(poll, interval);
    }
    poll();
  }

  for (const root of document.querySelectorAll("[data-progress-url]")) {
    if (root.dataset.finished !== "1") follow(root);
  }
})();
