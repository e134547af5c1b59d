// Follows a job (pull, import) live: bar, step, counts, and its final report.
(function () {
  "use strict";
  const root = document.querySelector(".vetrina-job");
  if (!root) return;
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
        result.textContent = job.result;
        if (job.finished) return;
      }
    } catch (error) {
      // Network hiccup: try again on the next tick.
    }
    setTimeout(poll, 1000);
  }
  poll();
})();
