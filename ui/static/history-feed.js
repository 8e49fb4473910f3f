// Fetches one job's history for the timeline, only when the polled record shows that the
// job moved on: never on a poll that changed nothing, never two requests at once.

import { jobPath, requestJSON } from "./http.js";

// A version bump that only changed the progress is a progress update, which the timeline
// does not show: refetch for those at most this often. Any other bump (a new status, attempt
// or task, a redelivery) is fetched straight away.
export const PROGRESS_REFETCH_MS = 5000;
// After a failed fetch, try again after this long (the poll may have stopped at a terminal).
export const RETRY_MS = 2000;

function snapshot(record) {
  return {
    version: record.version,
    shape: `${record.attempt}|${record.status}|${record.metadata?.task_id ?? ""}`,
    progress: JSON.stringify(record.progress ?? null),
  };
}

export class HistoryFeed {
  /** `onHistory(entries, record)`: `record` is the state the fetch was made for. */
  constructor(onHistory) {
    this.onHistory = onHistory;
    this.generation = 0;
    this.open(null);
  }

  /** Follow `jobId` (null: nothing); drops whatever was fetched for the previous job. */
  open(jobId) {
    this.generation += 1;
    clearTimeout(this.retryTimer);
    this.jobId = jobId;
    this.latest = null;
    this.fetched = null;
    this.fetchedAt = 0;
    this.inFlight = false;
  }

  /** A polled record: fetch the history if the job changed since the last fetch. */
  note(record) {
    if (record.job_id !== this.jobId) return;
    this.latest = record;
    this.#maybeFetch();
  }

  #due() {
    if (!this.latest) return false;
    if (!this.fetched) return true;
    const now = snapshot(this.latest);
    const then = this.fetched;
    if (now.shape !== then.shape) return true;
    if (now.version === then.version) return false;
    if (now.progress === then.progress) return true;
    return Date.now() - this.fetchedAt >= PROGRESS_REFETCH_MS;
  }

  async #maybeFetch() {
    if (this.inFlight || !this.#due()) return;
    const generation = this.generation;
    const record = this.latest;
    this.inFlight = true;
    this.fetchedAt = Date.now();
    const result = await requestJSON(jobPath(record.job_id, "/history"));
    if (generation !== this.generation) return;
    this.inFlight = false;
    if (result.ok && Array.isArray(result.data)) {
      this.fetched = snapshot(record);
      this.onHistory(result.data, record);
    } else if (result.status !== 404 && result.status !== 400) {
      this.retryTimer = setTimeout(() => this.#maybeFetch(), RETRY_MS);
      return;
    }
    this.#maybeFetch();
  }
}
