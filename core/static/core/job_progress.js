// Follows a job (pull, preview, import) live: bar, step, counts, and its final report. A page
// shown while the job ran is loaded again when it ends, for what only the server renders (a
// preview's tables, the Importa and Riprova buttons).
(function () {
  "use strict";
  const root = document.querySelector(".vetrina-job");
  if (!root || root.dataset.finished === "1") return;
  const fill = document.getElementById("job-bar-fill");
  const bar = document.getElementById("job-bar");
  const status = document.getElementById("job-status");
  const result = document.getElementById("job-result");

  async function poll() {
    try {
      const response = await fetch(root.dataset.progressUrl, {credentials: "same-origin"});
      if (response.ok) {
        const job = await response.json();
        fill.style.width = job.percent + "%";
        bar.setAttribute("aria-valuenow", job.percent);
        const counts = job.total ? " " + job.done + "/" + job.total : "";
        status.textContent = job.status_label + " " + job.step + counts;
        if (result) result.textContent = job.result;
        if (job.finished) {
          window.location.reload();
          return;
        }
      }
    } catch (error) {
      // Network hiccup: try again on the next tick.
    }
    setTimeout(poll, 1000);
  }
  poll();
})();
