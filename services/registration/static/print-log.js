// Print log: rows of batches still rendering poll their job and show progress, then the download.
"use strict";

const POLL_MS = 2000;

function watch(row) {
  const cell = row.querySelector("[data-status]");
  const poll = async () => {
    const answer = await fetch(`/api/v1/badge-prints/${row.dataset.job}`, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!answer.ok) return;
    const job = await answer.json();
    if (job.status === "done" && job.file_url) {
      const link = document.createElement("a");
      link.href = job.file_url;
      link.textContent = cell.dataset.download;
      cell.replaceChildren(link);
      return;
    }
    cell.textContent = `${job.status} (${job.done}/${job.total})`;
    if (job.status !== "failed") setTimeout(poll, POLL_MS);
  };
  setTimeout(poll, POLL_MS);
}

document.querySelectorAll("#print-log tr[data-pending]").forEach(watch);
