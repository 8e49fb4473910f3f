// A job's history (GET /api/jobs/<id>/history, oldest first) read as a story: attempts,
// the statuses each went through and for how long, redeliveries, stale sweeps, failures.
// Pure functions, no DOM: the page renders what these return.

import { KIND } from "./history-kinds.js";

// History kinds a redelivered stage message may be written with. The store writes
// GAVE_UP when a stage keeps coming back and it gives up (an error entry); an entry
// of one of these kinds for a running status is a stage delivered again ("rerun" is
// read for entries written before the kinds had one list).
const REDELIVERY_KINDS = new Set([KIND.GAVE_UP, KIND.REDELIVERED, "rerun"]);
// pipeline/cleanup.py mark_stale writes kind STALE with an error starting "stale: ...".
const STALE_ERROR = /^stale\b/i;
const FALSE_TEXT = new Set(["", "0", "false", "no"]);

function flagged(value) {
  if (typeof value === "string") return !FALSE_TEXT.has(value.trim().toLowerCase());
  return Boolean(value);
}

function isRedelivery(entry) {
  return REDELIVERY_KINDS.has(entry.kind) || flagged(entry.redelivered);
}

function asText(value) {
  return value === null || value === undefined ? "" : String(value);
}

/** One displayed row from one history entry; `previous` is the row before it, if any. */
function makeRow(entry, previous, errorStatus) {
  const status = asText(entry.status);
  const attempt = Number(entry.attempt) || 0;
  const failed = status === errorStatus || Boolean(entry.error);
  const sameStage = previous !== null && previous.attempt === attempt && previous.status === status;
  const marks = [];
  if (entry.kind === KIND.RETRY) marks.push("retry");
  if (failed && (entry.kind === KIND.STALE || STALE_ERROR.test(asText(entry.error)))) marks.push("stale");
  if (failed && isRedelivery(entry)) marks.push("redelivery-cap");
  if (!failed && (sameStage || isRedelivery(entry))) marks.push("redelivered");
  return {
    status,
    attempt,
    kind: asText(entry.kind),
    from: entry.from ? asText(entry.from) : null,
    ms: Number(entry.ms),
    at: asText(entry.at),
    message: asText(entry.message),
    error: entry.error ? asText(entry.error) : null,
    taskId: entry.task_id ? asText(entry.task_id) : null,
    failed,
    marks,
    delivery: sameStage ? previous.delivery + 1 : 1,
    updates: 0,
    durationMs: null,
    live: false,
  };
}

function outcomeOf(rows, isLatest, finished) {
  const last = rows.at(-1);
  if (last.failed) {
    const before = rows.filter((row) => !row.failed).at(-1);
    return { outcome: "failed", failedAt: last.from ?? before?.status ?? null };
  }
  if (isLatest && !finished) return { outcome: "running", failedAt: null };
  return { outcome: isLatest ? "finished" : "ended", failedAt: null };
}

function groupAttempts(rows, finished) {
  const byAttempt = new Map();
  for (const row of rows) {
    if (!byAttempt.has(row.attempt)) byAttempt.set(row.attempt, []);
    byAttempt.get(row.attempt).push(row);
  }
  const numbers = [...byAttempt.keys()];
  return numbers.map((attempt, index) => {
    const own = byAttempt.get(attempt);
    const isLatest = index === numbers.length - 1;
    return {
      attempt,
      rows: own,
      startMs: own[0].ms,
      endMs: own.at(-1).ms,
      status: own.at(-1).status,
      error: own.at(-1).error,
      redeliveries: own.filter((row) => row.marks.includes("redelivered")).length,
      latest: isLatest,
      ...outcomeOf(own, isLatest, finished),
    };
  });
}

/**
 * The story of a job from its history entries.
 *
 * options: errorStatus (the workflow's error status); terminal (its terminal statuses) or,
 * when those are unknown, finished (the job is in a terminal status): a final last row has
 * no running time; now (server time in ms, for the time spent so far in a running status).
 * Returns {attempts: [...], rows: [...], trimmed, failedAt, latestAttempt}.
 */
export function buildTimeline(entries, { errorStatus = "ERROR", terminal = [], finished = false, now = Date.now() } = {}) {
  const rows = [];
  let previous = null;
  for (const entry of Array.isArray(entries) ? entries : []) {
    if (!entry || typeof entry !== "object") continue;
    if (entry.kind === KIND.PROGRESS) {
      if (previous) previous.updates += 1;
      continue;
    }
    previous = makeRow(entry, previous, errorStatus);
    rows.push(previous);
  }
  rows.forEach((row, index) => {
    const next = rows[index + 1];
    if (next) row.durationMs = Math.max(0, next.ms - row.ms);
  });
  const last = rows.at(-1);
  const final = terminal.length ? terminal.includes(last?.status) : finished;
  if (last && !final && !last.failed) {
    last.live = true;
    last.durationMs = Math.max(0, now - last.ms);
  }
  const attempts = rows.length ? groupAttempts(rows, final) : [];
  const latest = attempts.at(-1);
  return {
    attempts,
    rows,
    trimmed: Array.isArray(entries) && entries.length > 0 && entries[0]?.kind !== "create",
    failedAt: latest?.outcome === "failed" ? latest.failedAt : null,
    latestAttempt: latest?.attempt ?? null,
  };
}
