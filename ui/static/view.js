// The job view: shows one job's state; every worker- or user-supplied string via textContent.

import { describeProgress } from "./progress.js";
import { renderResults } from "./results.js";
import { renderSteps } from "./steps.js";

const IDS = [
  "job-view", "job-id", "job-status", "reconnecting", "reconnecting-text", "not-found",
  "not-found-text", "cleared", "job-body", "steps", "loading", "job-message", "progress",
  "progress-bar", "progress-text", "stale", "error-box", "failed-stage", "job-error", "retry",
  "clear", "action-error", "results", "summary", "quotes", "transcript", "attempt", "job-url",
  "job-space", "job-updated",
];

function camel(id) {
  return id.replace(/-(\w)/g, (_, letter) => letter.toUpperCase());
}

function formatTime(iso) {
  const when = new Date(iso);
  return Number.isNaN(when.getTime()) ? String(iso ?? "") : when.toLocaleString();
}

export class JobView {
  constructor(root) {
    this.el = {};
    for (const id of IDS) this.el[camel(id)] = root.querySelector(`[data-testid="${id}"]`);
    this.path = [];
    this.record = null;
    this.failedAt = "";
  }

  /** Show the view for `jobId`, waiting for its first state. */
  open(jobId) {
    const { el } = this;
    this.record = null;
    this.failedAt = "";
    el.jobView.hidden = false;
    el.jobView.dataset.jobId = jobId;
    delete el.jobView.dataset.status;
    el.jobId.textContent = jobId;
    el.jobStatus.textContent = "";
    el.jobStatus.className = "badge";
    for (const box of [el.notFound, el.cleared, el.reconnecting, el.errorBox, el.results, el.progress]) {
      box.hidden = true;
    }
    el.jobBody.hidden = false;
    el.loading.hidden = false;
    el.jobMessage.textContent = "Loading job…";
    this.setActionError("");
  }

  close() {
    this.el.jobView.hidden = true;
    this.record = null;
  }

  setPath(path) {
    this.path = Array.isArray(path) ? path : [];
    if (this.record) this.show(this.record);
  }

  setFailedStage(stage) {
    this.failedAt = stage;
    this.el.failedStage.textContent = stage ? ` during ${stage}` : "";
    if (this.record) renderSteps(this.el.steps, this.path, this.record, stage);
  }

  /** Render a state record. */
  show(record) {
    const { el } = this;
    const previous = this.record;
    this.record = record;
    if (previous && previous.attempt !== record.attempt) this.setFailedStage("");
    el.jobView.dataset.status = record.status;
    el.jobView.dataset.version = String(record.version);
    el.notFound.hidden = true;
    el.cleared.hidden = true;
    el.jobBody.hidden = false;
    el.jobBody.classList.remove("outdated");
    el.jobStatus.textContent = record.status;
    el.jobStatus.className = `badge ${record.failed ? "badge-error" : record.terminal ? "badge-done" : "badge-running"}`;
    el.jobMessage.textContent = record.message || "";
    el.loading.hidden = Boolean(record.terminal);
    el.stale.hidden = !record.stale;
    this.#showProgress(record);
    this.#showError(record);
    this.#showResults(record);
    this.#showFacts(record);
    renderSteps(el.steps, this.path, record, this.failedAt);
    document.title = `${record.status} · jobstate`;
  }

  #showProgress(record) {
    const progress = record.terminal ? null : describeProgress(record.progress);
    this.el.progress.hidden = !progress;
    if (!progress) return;
    if (progress.percent === null) {
      this.el.progressBar.removeAttribute("value");
    } else {
      this.el.progressBar.value = progress.percent;
    }
    this.el.progressText.textContent = progress.text;
  }

  #showError(record) {
    const { el } = this;
    el.errorBox.hidden = !record.failed;
    if (!record.failed) return;
    el.jobError.textContent = record.error || "The job failed without an error message.";
  }

  #showResults(record) {
    const done = record.terminal && !record.failed && record.result !== null && record.result !== undefined;
    this.el.results.hidden = !done;
    if (done) renderResults(this.el, record.result);
  }

  #showFacts(record) {
    const { el } = this;
    const meta = record.metadata || {};
    el.attempt.textContent = String(record.attempt);
    el.jobUrl.textContent = meta.url || "";
    el.jobSpace.textContent = meta.space_id || "—";
    el.jobUpdated.textContent = formatTime(record.updated_at);
  }

  /** The API or Redis is unreachable: keep the last state, say we are reconnecting. */
  showTrouble({ failures, delay, detail }) {
    const { el } = this;
    el.reconnecting.hidden = false;
    el.reconnectingText.textContent =
      `Reconnecting… the server is not answering (${detail}). Next try in ${Math.round(delay / 1000)} s` +
      (failures > 1 ? ` (try ${failures}).` : ".");
    if (this.record) el.jobBody.classList.add("outdated");
  }

  hideTrouble() {
    this.el.reconnecting.hidden = true;
    this.el.jobBody.classList.remove("outdated");
  }

  /** Unknown (404) or malformed (400) id: a clear message and no spinner. */
  showMissing(status, jobId) {
    const { el } = this;
    this.record = null;
    this.hideTrouble();
    el.jobBody.hidden = true;
    el.jobStatus.textContent = "";
    el.jobStatus.className = "badge";
    el.notFound.hidden = false;
    el.notFound.dataset.reason = status === 400 ? "malformed" : "unknown";
    el.notFoundText.textContent =
      status === 400
        ? `“${jobId}” is not a valid job id.`
        : `There is no job with id “${jobId}”. It may have been cleared or expired.`;
    document.title = "Job not found · jobstate";
  }

  showCleared() {
    const { el } = this;
    this.record = null;
    this.hideTrouble();
    el.jobBody.hidden = true;
    el.jobStatus.textContent = "";
    el.jobStatus.className = "badge";
    el.cleared.hidden = false;
    document.title = "Job cleared · jobstate";
  }

  setBusy(busy) {
    this.el.retry.disabled = busy;
    this.el.clear.disabled = busy;
  }

  setActionError(text) {
    this.el.actionError.textContent = text;
    this.el.actionError.hidden = !text;
  }
}
