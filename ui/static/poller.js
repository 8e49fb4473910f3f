// Polls one job's state: one request at a time, the next one only after the answer. Each poll
// sends the entity tag of the state it holds; a 304 means that state is still current.

import { jobPath, requestJSON, detailOf } from "./http.js";

export const POLL_INTERVAL_MS = 1000;
export const BACKOFF_MS = [1000, 2000, 4000, 5000];
const FALLBACK_TERMINAL = new Set(["COMPLETE", "ERROR"]);

/** Delay before the next try after `failures` failed polls in a row (capped, never ending). */
export function backoffDelay(failures) {
  return BACKOFF_MS[Math.min(Math.max(failures, 1), BACKOFF_MS.length) - 1];
}

/** Whether a record is final: no poll is needed until the user acts (retry). */
export function isTerminal(record) {
  return typeof record.terminal === "boolean" ? record.terminal : FALLBACK_TERMINAL.has(record.status);
}

export class JobPoller {
  /**
   * handlers: onState(record), onUnchanged(record), onMissing(status, detail),
   * onTrouble({failures, delay, status, detail}), onRecovered().
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.jobId = null;
    this.generation = 0;
    this.timer = null;
    this.controller = null;
    this.failures = 0;
    this.record = null;
    this.etag = null;
  }

  /** Poll `jobId` (now, or after one interval when the caller just rendered fresh state). */
  start(jobId, { immediately = true } = {}) {
    this.stop();
    this.jobId = jobId;
    this.failures = 0;
    this.record = null;
    this.etag = null;
    const generation = this.generation;
    if (immediately) {
      this.#poll(generation);
    } else {
      this.#schedule(generation, POLL_INTERVAL_MS);
    }
  }

  /** Stop polling; an answer still on its way is ignored. */
  stop() {
    this.generation += 1;
    clearTimeout(this.timer);
    this.timer = null;
    this.controller?.abort();
    this.controller = null;
  }

  #schedule(generation, delay) {
    if (generation !== this.generation) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.#poll(generation);
    }, delay);
  }

  async #poll(generation) {
    if (generation !== this.generation || this.controller) return;
    const controller = new AbortController();
    this.controller = controller;
    const held = this.record ? this.etag : null;
    const result = await requestJSON(jobPath(this.jobId), { signal: controller.signal, ifNoneMatch: held });
    if (this.controller === controller) this.controller = null;
    if (generation !== this.generation) return;
    if (result.status === 200 && result.data) {
      this.record = result.data;
      this.etag = result.etag;
      this.#answered(generation, result.data, true);
    } else if (result.status === 304 && this.record) {
      this.#answered(generation, this.record, false);
    } else if (result.status === 404 || result.status === 400) {
      this.record = null;
      this.etag = null;
      this.handlers.onMissing(result.status, detailOf(result, ""));
    } else {
      this.#failed(generation, result);
    }
  }

  #answered(generation, record, changed) {
    if (this.failures) {
      this.failures = 0;
      this.handlers.onRecovered();
    }
    if (changed) {
      this.handlers.onState(record);
    } else {
      this.handlers.onUnchanged?.(record);
    }
    if (!isTerminal(record)) this.#schedule(generation, POLL_INTERVAL_MS);
  }

  #failed(generation, result) {
    this.failures += 1;
    const delay = backoffDelay(this.failures);
    const detail = detailOf(result, result.status ? `HTTP ${result.status}` : "no answer from the server");
    this.handlers.onTrouble({ failures: this.failures, delay, status: result.status, detail });
    this.#schedule(generation, delay);
  }
}
