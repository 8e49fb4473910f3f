// Times and durations for people: the server's clock (from the API's Date header), "3.2 s",
// "4 min ago", "12:03:04".

// The Date header has one-second resolution: a smaller difference is noise, not skew.
const SKEW_IGNORED_MS = 1500;
let offsetMs = 0;

/** Learn the server's clock from an answer's Date header (ignored when absent or close). */
export function noteServerDate(header, receivedAt = Date.now()) {
  const server = Date.parse(header ?? "");
  if (Number.isNaN(server)) return;
  const skew = server + 500 - receivedAt;
  offsetMs = Math.abs(skew) > SKEW_IGNORED_MS ? skew : 0;
}

/** Milliseconds since the epoch on the server's clock, as far as the page can tell. */
export function serverNow() {
  return Date.now() + offsetMs;
}

/** Milliseconds of an ISO-8601 time, or NaN. */
export function parseTime(iso) {
  return typeof iso === "string" ? Date.parse(iso) : Number.NaN;
}

/** 850 -> "850 ms", 3240 -> "3.2 s", 75000 -> "1 min 15 s", 7.2e6 -> "2 h 0 min". */
export function formatDuration(ms) {
  const value = Number.isFinite(ms) && ms > 0 ? ms : 0;
  if (value < 1000) return `${Math.round(value)} ms`;
  if (value < 10_000) return `${(value / 1000).toFixed(1)} s`;
  const seconds = Math.round(value / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** How long ago `ms` was, coarsely: "just now", "40 s ago", "3 min ago", "2 h ago", "5 d ago". */
export function formatAgo(ms, now = serverNow()) {
  const elapsed = now - ms;
  if (!Number.isFinite(elapsed) || elapsed < 5000) return "just now";
  const seconds = Math.floor(elapsed / 1000);
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours} h ago` : `${Math.floor(hours / 24)} d ago`;
}

/** The local wall-clock time of `ms` ("14:03:07"), with the date when it is not today. */
export function formatClock(ms) {
  const when = new Date(ms);
  if (Number.isNaN(when.getTime())) return "";
  const time = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  const today = new Date().toDateString() === when.toDateString();
  return today ? time : `${when.toLocaleDateString()} ${time}`;
}
