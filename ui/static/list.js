// The recent-jobs list, built from text nodes and links to #/jobs/<id>.

import { requestJSON, detailOf } from "./http.js";

function jobItem(record, currentId) {
  const item = document.createElement("li");
  item.dataset.testid = "job-item";
  item.dataset.jobId = record.job_id;
  item.dataset.status = record.status;
  if (record.job_id === currentId) item.classList.add("current");
  const link = document.createElement("a");
  link.href = `#/jobs/${encodeURIComponent(record.job_id)}`;
  const badge = document.createElement("span");
  badge.className = `badge ${record.failed ? "badge-error" : record.terminal ? "badge-done" : "badge-running"}`;
  badge.textContent = record.status;
  const url = document.createElement("span");
  url.className = "item-url";
  url.textContent = record.metadata?.url || record.job_id;
  link.append(badge, url);
  item.append(link);
  return item;
}

export class JobList {
  constructor(root) {
    this.list = root.querySelector('[data-testid="job-list"]');
    this.empty = root.querySelector('[data-testid="job-list-empty"]');
    this.error = root.querySelector('[data-testid="job-list-error"]');
    this.currentId = null;
    this.loading = null;
  }

  /** Reload the list (one request at a time; a call while loading reuses it). */
  refresh() {
    this.loading ??= this.#load().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  highlight(jobId) {
    this.currentId = jobId;
    for (const item of this.list.children) {
      item.classList.toggle("current", item.dataset.jobId === jobId);
    }
  }

  async #load() {
    const result = await requestJSON("/api/jobs?limit=20");
    if (!result.ok || !Array.isArray(result.data)) {
      this.error.textContent = `Could not load the job list: ${detailOf(result, "no answer from the server")}`;
      this.error.hidden = false;
      return;
    }
    this.error.hidden = true;
    this.list.replaceChildren(...result.data.map((record) => jobItem(record, this.currentId)));
    this.empty.hidden = result.data.length > 0;
  }
}
