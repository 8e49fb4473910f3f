// The recent-jobs list: polls itself (one request at a time, the next only after the answer,
// paused while the tab is hidden), shows each job's status, how long ago it changed and
// whether it went stale. Items are updated in place, so keyboard focus survives a refresh.

import { formatAgo, parseTime } from "./clock.js";
import { detailOf, requestJSON } from "./http.js";

export const LIST_INTERVAL_MS = 3000;
export const LIST_URL = "/api/jobs?limit=20";

function badgeClass(record) {
  if (record.failed) return "badge badge-error";
  return record.terminal ? "badge badge-done" : "badge badge-running";
}

function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

function newItem(jobId) {
  const item = document.createElement("li");
  item.dataset.testid = "job-item";
  item.dataset.jobId = jobId;
  const link = document.createElement("a");
  link.href = `#/jobs/${encodeURIComponent(jobId)}`;
  const badge = document.createElement("span");
  const url = document.createElement("span");
  url.className = "item-url";
  const meta = document.createElement("span");
  meta.className = "item-meta";
  const ago = document.createElement("time");
  ago.dataset.testid = "job-item-ago";
  const stale = document.createElement("span");
  stale.className = "mark mark-stale";
  stale.dataset.testid = "job-item-stale";
  stale.textContent = "stale";
  meta.append(ago, stale);
  link.append(badge, url, meta);
  item.append(link);
  return item;
}

function fillItem(item, record, currentId) {
  const [badge, url, meta] = item.firstElementChild.children;
  const [ago, stale] = meta.children;
  const changed = parseTime(record.updated_at);
  item.dataset.status = record.status;
  item.dataset.version = String(record.version);
  item.dataset.stale = String(Boolean(record.stale));
  item.classList.toggle("current", record.job_id === currentId);
  item.classList.toggle("stale", Boolean(record.stale));
  setText(badge, record.status);
  if (badge.className !== badgeClass(record)) badge.className = badgeClass(record);
  setText(url, record.metadata?.url || record.job_id);
  ago.dateTime = record.updated_at ?? "";
  setText(ago, `changed ${formatAgo(changed)}`);
  stale.hidden = !record.stale;
}

export class JobList {
  constructor(root, { interval = LIST_INTERVAL_MS } = {}) {
    this.list = root.querySelector('[data-testid="job-list"]');
    this.empty = root.querySelector('[data-testid="job-list-empty"]');
    this.error = root.querySelector('[data-testid="job-list-error"]');
    this.interval = interval;
    this.items = new Map();
    this.currentId = null;
    this.loading = null;
    this.timer = null;
    this.missed = false;
  }

  /** Load now and keep polling; pause while the tab is hidden, catch up when shown. */
  start() {
    document.addEventListener("visibilitychange", () => {
      if (document.hidden) {
        clearTimeout(this.timer);
        this.timer = null;
      } else if (this.missed || !this.loading) {
        this.refresh();
      }
    });
    return this.refresh();
  }

  /** Reload now (a call while a load is on its way reuses it; hidden tabs wait). */
  refresh() {
    if (document.hidden) {
      this.missed = true;
      return Promise.resolve();
    }
    clearTimeout(this.timer);
    this.timer = null;
    this.missed = false;
    this.loading ??= this.#load().finally(() => {
      this.loading = null;
      this.#schedule();
    });
    return this.loading;
  }

  highlight(jobId) {
    this.currentId = jobId;
    for (const item of this.list.children) {
      item.classList.toggle("current", item.dataset.jobId === jobId);
    }
  }

  #schedule() {
    clearTimeout(this.timer);
    this.timer = document.hidden ? null : setTimeout(() => this.refresh(), this.interval);
  }

  async #load() {
    const result = await requestJSON(LIST_URL);
    if (!result.ok || !Array.isArray(result.data)) {
      this.error.textContent = `Could not load the job list: ${detailOf(result, "no answer from the server")}`;
      this.error.hidden = false;
      return;
    }
    this.error.hidden = true;
    this.#show(result.data);
    this.empty.hidden = result.data.length > 0;
  }

  #show(records) {
    const wanted = [];
    for (const record of records) {
      let item = this.items.get(record.job_id);
      if (!item) {
        item = newItem(record.job_id);
        this.items.set(record.job_id, item);
      }
      fillItem(item, record, this.currentId);
      wanted.push(item);
    }
    const keep = new Set(wanted);
    for (const [jobId, item] of this.items) {
      if (keep.has(item)) continue;
      item.remove();
      this.items.delete(jobId);
    }
    // Move only items that are out of place: moving a node drops its focus.
    wanted.forEach((item, index) => {
      if (this.list.children[index] !== item) this.list.insertBefore(item, this.list.children[index] ?? null);
    });
  }
}
