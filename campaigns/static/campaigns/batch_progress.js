// Keeps a chain-wide campaign's progress page fresh without reloading it.
(function () {
  "use strict";
  const root = document.querySelector(".vetrina-batch");
  if (!root) return;
  const url = root.dataset.progressUrl;
  const fill = document.getElementById("batch-bar-fill");
  const bar = document.getElementById("batch-bar");
  const summary = document.getElementById("batch-summary");
  const colours = {pending: "#b26a00", synced: "#1b7f3b", failed: "#b00020"};

  function render(progress) {
    fill.style.width = progress.percent + "%";
    bar.setAttribute("aria-valuenow", progress.percent);
    let text = summary.dataset.template
      .replace("__done__", progress.done).replace("__total__", progress.total)
      .replace("__synced__", progress.counts.synced).replace("__failed__", progress.counts.failed)
      .replace("__pending__", progress.counts.pending);
    if (progress.finished) text += " " + summary.dataset.finished;
    summary.textContent = text;
    for (const row of progress.rows) {
      const tr = document.querySelector('#batch-rows tr[data-id="' + row.id + '"]');
      if (!tr) continue;
      const badge = tr.querySelector(".status span");
      badge.className = "sync-badge sync-" + row.sync_status;
      badge.textContent = row.sync_status_label;
      badge.style.cssText = "color:#fff;padding:2px 8px;border-radius:10px;background:" + (colours[row.sync_status] || "#666");
      tr.querySelector(".error").textContent = row.sync_error;
    }
    return progress.finished;
  }

  async function poll() {
    try {
      const response = await fetch(url, {headers: {Accept: "application/json"}, credentials: "same-origin"});
      if (response.ok && render(await response.json())) return;
    } catch (error) {
      // Network hiccup: try again on the next tick.
    }
    setTimeout(poll, 1500);
  }
  poll();
})();
