// Entry point: routing (#/jobs/<id>, /jobs/<id>, ?job=<id>), submit form, retry and clear,
// the timeline (history fetched when the job moves on) and status announcements.

import { Announcer } from "./announcer.js";
import { serverNow } from "./clock.js";
import { HistoryFeed } from "./history-feed.js";
import { detailOf, jobPath, requestJSON } from "./http.js";
import { JobList } from "./list.js";
import { JobPoller } from "./poller.js";
import { Timeline } from "./timeline.js";
import { buildTimeline } from "./timeline-model.js";
import { JobView } from "./view.js";

const view = new JobView(document);
const list = new JobList(document);
const timeline = new Timeline(document);
const announcer = new Announcer(document.querySelector('[data-testid="announcer"]'));
const feed = new HistoryFeed(showHistory);
const workflow = { error: "ERROR", terminal: [] };
let openId = null;
let lastStatus = null;

const poller = new JobPoller({
  onState: showState,
  onUnchanged: () => timeline.tick(serverNow()),
  onMissing: (status) => {
    view.showMissing(status, openId);
    list.refresh();
  },
  onTrouble: (trouble) => view.showTrouble(trouble),
  onRecovered: () => view.hideTrouble(),
});

function safeDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The job the URL points at, or null for the home view. */
function jobFromLocation() {
  if (location.hash.startsWith("#/")) {
    const match = location.hash.match(/^#\/jobs\/([^/?#]+)\/?$/);
    return match ? safeDecode(match[1]) : null;
  }
  const path = location.pathname.match(/^\/jobs\/([^/]+)\/?$/);
  if (path) return safeDecode(path[1]);
  return new URLSearchParams(location.search).get("job") || null;
}

function route() {
  const jobId = jobFromLocation();
  if (jobId === openId) return;
  openId = jobId;
  lastStatus = null;
  poller.stop();
  follow(jobId);
  list.highlight(jobId);
  if (jobId === null) {
    view.close();
    document.title = "jobstate";
    return;
  }
  view.open(jobId);
  poller.start(jobId);
}

/** Start over for another job (or none): its own timeline, history and announcements. */
function follow(jobId) {
  if (feed.jobId === jobId) return;
  feed.open(jobId);
  timeline.reset();
  announcer.reset();
}

function showState(record) {
  view.show(record);
  feed.note(record);
  timeline.tick(serverNow());
  if (record.status !== lastStatus) {
    lastStatus = record.status;
    announcer.say(announcement(record));
    list.refresh();
  }
}

function announcement(record) {
  const detail = record.failed ? record.error || "failed" : record.message;
  return `Job status ${record.status}${detail ? `: ${detail}` : ""}`;
}

/** Render the timeline; a failed job's stage is where its latest attempt stopped. */
function showHistory(entries, fetchedFor) {
  if (fetchedFor.job_id !== openId) return;
  const record = view.record ?? fetchedFor;
  const model = buildTimeline(entries, {
    errorStatus: workflow.error,
    terminal: workflow.terminal,
    finished: Boolean(record.terminal),
    now: serverNow(),
  });
  timeline.render(model);
  if (record.failed && model.latestAttempt === record.attempt && model.failedAt) {
    view.setFailedStage(model.failedAt);
  }
}

function openFresh(record) {
  openId = record.job_id;
  lastStatus = null;
  poller.stop();
  follow(record.job_id);
  view.open(record.job_id);
  showState(record);
  list.highlight(record.job_id);
  if (!record.terminal) poller.start(record.job_id, { immediately: false });
}

async function submitJob(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const error = document.querySelector('[data-testid="submit-error"]');
  const button = form.querySelector("button[type=submit]");
  const url = form.elements.url.value.trim();
  const spaceId = form.elements.space_id.value.trim();
  error.hidden = true;
  button.disabled = true;
  const result = await requestJSON("/api/jobs", {
    method: "POST",
    body: { url, space_id: spaceId || null },
    timeoutMs: 12000,
  });
  button.disabled = false;
  if (result.status === 202 && result.data) {
    form.reset();
    openFresh(result.data);
    location.hash = `#/jobs/${encodeURIComponent(result.data.job_id)}`;
    return;
  }
  error.textContent = detailOf(result, result.status ? `The server answered ${result.status}.` : "The server is not answering; try again.");
  error.hidden = false;
}

async function retryJob() {
  const jobId = openId;
  view.setBusy(true);
  view.setActionError("");
  const result = await requestJSON(jobPath(jobId, "/retry"), { method: "POST", timeoutMs: 12000 });
  view.setBusy(false);
  if (jobId !== openId) return;
  if (result.status === 202 && result.data) {
    openFresh(result.data);
  } else if (result.status === 404) {
    poller.stop();
    view.showMissing(404, jobId);
  } else {
    view.setActionError(detailOf(result, "Could not retry: the server is not answering."));
    if (result.status === 409) poller.start(jobId);
  }
  list.refresh();
}

async function clearJob() {
  const jobId = openId;
  view.setBusy(true);
  view.setActionError("");
  const result = await requestJSON(jobPath(jobId), { method: "DELETE" });
  view.setBusy(false);
  if (jobId !== openId) return;
  if (result.status === 204 || result.status === 404) {
    poller.stop();
    view.showCleared();
  } else {
    view.setActionError(detailOf(result, "Could not clear: the server is not answering."));
  }
  list.refresh();
}

async function loadWorkflow() {
  const result = await requestJSON("/api/workflow");
  if (!result.ok || !result.data) return;
  workflow.error = result.data.error;
  workflow.terminal = Array.isArray(result.data.terminal) ? result.data.terminal : [];
  view.setPath(result.data.happy_path);
}

document.querySelector('[data-testid="submit-form"]').addEventListener("submit", submitJob);
document.querySelector('[data-testid="retry"]').addEventListener("click", retryJob);
document.querySelector('[data-testid="clear"]').addEventListener("click", clearJob);
document.querySelector('[data-testid="refresh-list"]').addEventListener("click", () => list.refresh());
window.addEventListener("hashchange", route);
loadWorkflow();
route();
list.start();
