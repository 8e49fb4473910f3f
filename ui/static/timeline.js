// The timeline on the job view: one collapsible section per attempt (older ones folded),
// one row per status with its start, how long it lasted and what happened. Text nodes only.

import { formatClock, formatDuration } from "./clock.js";

// With more attempts than this, the oldest are folded behind a "show earlier" button.
export const VISIBLE_ATTEMPTS = 5;

const MARK_TEXT = {
  retry: "retry",
  redelivered: "redelivered",
  stale: "stale sweep",
  "redelivery-cap": "redelivery cap",
};

function node(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

function badgeClass(row, final) {
  if (row.failed) return "badge badge-error";
  if (row.live) return "badge badge-running";
  return final ? "badge badge-done" : "badge badge-quiet";
}

function durationText(row) {
  if (row.live) return `${formatDuration(row.durationMs)} so far`;
  if (row.durationMs === null) return "";
  // Only a retry moves a job out of its error status.
  return row.failed ? `${formatDuration(row.durationMs)} before retry` : formatDuration(row.durationMs);
}

function markChip(mark, row) {
  let text = MARK_TEXT[mark] ?? mark;
  if (mark === "redelivered") text = `redelivered (delivery ${row.delivery})`;
  const chip = node("span", `mark mark-${mark}`, text);
  chip.dataset.testid = "row-mark";
  chip.dataset.mark = mark;
  return chip;
}

function rowItem(row) {
  const item = node("li", `row${row.failed ? " row-failed" : ""}`);
  item.dataset.testid = "timeline-row";
  item.dataset.status = row.status;
  item.dataset.kind = row.kind;
  item.dataset.marks = row.marks.join(" ");
  const time = node("time", "row-time", formatClock(row.ms));
  time.dateTime = row.at;
  const final = row.durationMs === null && !row.live;
  const status = node("span", badgeClass(row, final), row.status);
  status.dataset.testid = "row-status";
  const duration = node("span", "row-duration", durationText(row));
  duration.dataset.testid = "row-duration";
  const head = node("div", "row-head");
  head.append(time, status, duration, ...row.marks.map((mark) => markChip(mark, row)));
  item.append(head);
  if (row.error) {
    const error = node("p", "row-error", row.error);
    error.dataset.testid = "row-error";
    item.append(error);
  }
  if (row.taskId) {
    const task = node("p", "row-task", "Celery task ");
    task.dataset.testid = "row-task";
    task.append(node("code", "", row.taskId));
    item.append(task);
  }
  return { item, duration };
}

function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

function outcomeText(attempt) {
  if (attempt.outcome === "failed") return attempt.failedAt ? `failed at ${attempt.failedAt}` : "failed";
  if (attempt.outcome === "running") return `in ${attempt.status}`;
  return attempt.status;
}

function summaryParts(attempt) {
  const parts = [node("span", "attempt-name", `Attempt ${attempt.attempt}`)];
  const outcome = node("span", `attempt-outcome outcome-${attempt.outcome}`, outcomeText(attempt));
  outcome.dataset.testid = "attempt-outcome";
  parts.push(outcome);
  if (attempt.outcome !== "running") {
    parts.push(node("span", "attempt-took", `after ${formatDuration(attempt.endMs - attempt.startMs)}`));
  }
  if (attempt.redeliveries) parts.push(node("span", "attempt-note", plural(attempt.redeliveries, "redelivery")));
  return parts;
}

export class Timeline {
  constructor(root) {
    const find = (id) => root.querySelector(`[data-testid="${id}"]`);
    this.section = find("timeline");
    this.list = find("timeline-attempts");
    this.trimmed = find("timeline-trimmed");
    this.toggle = find("show-task-ids");
    this.earlier = find("timeline-earlier");
    this.sections = new Map();
    this.applied = new Map();
    this.choices = new Map();
    this.showAll = false;
    this.live = null;
    this.toggle.addEventListener("click", () => this.#toggleTasks());
    this.earlier.addEventListener("click", () => {
      this.showAll = true;
      if (this.model) this.render(this.model);
    });
  }

  /** Forget everything shown (another job was opened). */
  reset() {
    this.sections.clear();
    this.applied.clear();
    this.choices.clear();
    this.showAll = false;
    this.live = null;
    this.model = null;
    this.list.replaceChildren();
    this.section.hidden = true;
  }

  /** Show a model from buildTimeline(); sections are reused so focus and folds survive. */
  render(model) {
    this.model = model;
    this.live = null;
    this.section.hidden = model.attempts.length === 0;
    this.trimmed.hidden = !model.trimmed;
    const hide = this.showAll ? 0 : Math.max(0, model.attempts.length - VISIBLE_ATTEMPTS);
    this.earlier.hidden = hide === 0;
    this.earlier.textContent = `Show ${plural(hide, "earlier attempt")}`;
    const shown = model.attempts.slice(hide).map((attempt) => this.#section(attempt));
    this.#place(shown);
  }

  /** Advance the running status's "so far" time (called on every poll; no request). */
  tick(now) {
    if (!this.live) return;
    this.live.element.textContent = `${formatDuration(now - this.live.ms)} so far`;
  }

  #section(attempt) {
    let details = this.sections.get(attempt.attempt);
    if (!details) {
      details = node("details", "attempt");
      details.dataset.testid = "timeline-attempt";
      details.dataset.attempt = String(attempt.attempt);
      details.append(node("summary", "attempt-summary"), node("ol", "rows"));
      details.addEventListener("toggle", () => {
        if (details.open !== this.applied.get(attempt.attempt)) this.choices.set(attempt.attempt, details.open);
      });
      this.sections.set(attempt.attempt, details);
    }
    details.dataset.outcome = attempt.outcome;
    const [summary, rows] = details.children;
    summary.dataset.testid = "attempt-summary";
    summary.replaceChildren(...summaryParts(attempt));
    rows.replaceChildren(...attempt.rows.map((row) => this.#row(row)));
    const open = this.choices.get(attempt.attempt) ?? attempt.latest;
    this.applied.set(attempt.attempt, open);
    details.open = open;
    return details;
  }

  #row(row) {
    const { item, duration } = rowItem(row);
    if (row.live) this.live = { element: duration, ms: row.ms };
    return item;
  }

  /** Put `shown` in order, moving only nodes that are out of place (keeps focus). */
  #place(shown) {
    const wanted = new Set(shown);
    for (const child of [...this.list.children]) {
      if (!wanted.has(child)) child.remove();
    }
    shown.forEach((details, index) => {
      if (this.list.children[index] !== details) this.list.insertBefore(details, this.list.children[index] ?? null);
    });
  }

  #toggleTasks() {
    const show = this.toggle.getAttribute("aria-pressed") !== "true";
    this.toggle.setAttribute("aria-pressed", String(show));
    this.section.classList.toggle("show-tasks", show);
  }
}
