// Keeps an upload's progress bar and summary fresh without reloading; reloads once at the end.
(function () {
  "use strict";
  const root = document.querySelector(".vetrina-upload");
  if (!root) return;
  const fill = document.getElementById("upload-bar-fill");
  const bar = document.getElementById("upload-bar");
  const summary = document.getElementById("upload-summary");
  let wasRunning = false;

  async function poll() {
    try {
      const response = await fetch(root.dataset.progressUrl, {credentials: "same-origin"});
      if (response.ok) {
        const p = await response.json();
        fill.style.width = p.percent + "%";
        bar.setAttribute("aria-valuenow", p.percent);
        summary.textContent = summary.dataset.template
          .replace("__status__", p.status_label).replace("__done__", p.chunks_done)
          .replace("__total__", p.chunks_total).replace("__sent__", p.records_sent)
          .replace("__leads__", p.records_total).replace("__confirmed__", p.records_confirmed);
        if (p.finished) {
          if (wasRunning) window.location.reload();  // the chunk table is final now
          return;
        }
        wasRunning = true;
      }
    } catch (error) {
      // Network hiccup: try again on the next tick.
    }
    setTimeout(poll, 1500);
  }
  poll();
})();
