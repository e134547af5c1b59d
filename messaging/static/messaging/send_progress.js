// Keeps a push send's delivery figures fresh without reloading, until every message is final.
(function () {
  "use strict";
  const root = document.querySelector(".vetrina-wizard[data-counts-url]");
  const summary = document.getElementById("send-summary");
  if (!root || !summary) return;  // a draft: nothing to follow yet
  const fill = document.getElementById("delivery-rate-fill");
  const bar = document.getElementById("delivery-rate");
  const statuses = document.getElementById("send-statuses");

  async function poll() {
    try {
      const response = await fetch(root.dataset.countsUrl, {credentials: "same-origin"});
      if (response.ok) {
        const c = await response.json();
        fill.style.width = c.delivery_rate + "%";
        bar.setAttribute("aria-valuenow", c.delivery_rate);
        summary.textContent = summary.dataset.template
          .replace("__done__", c.batches_done).replace("__batches__", c.batches)
          .replace("__delivered__", c.delivered).replace("__total__", c.total)
          .replace("__rate__", c.delivery_rate);
        statuses.textContent = c.statuses.map(([label, n]) => label + ": " + n).join(" · ");
        if (c.finished) return;
      }
    } catch (error) {
      // Network hiccup: try again on the next tick.
    }
    setTimeout(poll, 3000);
  }
  poll();
})();
