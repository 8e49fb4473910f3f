// Turn a worker's free-form progress object into a percentage and a line of text.

const DONE_KEYS = ["bytes_downloaded", "downloaded", "bytes", "done", "current", "processed", "seconds_done"];
const TOTAL_KEYS = ["total_bytes", "bytes_total", "total", "size", "seconds_total"];
const NOTE_KEYS = ["detail", "message", "stage", "step"];

function firstNumber(object, keys) {
  for (const key of keys) {
    const value = object[key];
    if (typeof value === "number" && Number.isFinite(value)) return { key, value };
  }
  return null;
}

/** 1536 -> "1.5 KB". */
export function formatBytes(count) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = count;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

function clampPercent(value) {
  return Math.max(0, Math.min(100, value));
}

function percentOf(progress, done, total) {
  if (typeof progress.percent === "number") return clampPercent(progress.percent);
  if (typeof progress.fraction === "number") return clampPercent(progress.fraction * 100);
  if (done && total && total.value > 0) return clampPercent((done.value / total.value) * 100);
  return null;
}

function amountText(done, total) {
  if (!done) return "";
  const bytes = /byte|download/.test(done.key) || (total && /byte/.test(total.key));
  const show = (n) => (bytes ? formatBytes(n) : String(n));
  return total ? `${show(done.value)} of ${show(total.value)}` : show(done.value);
}

function otherFields(progress) {
  return Object.entries(progress)
    .filter(([, value]) => ["string", "number", "boolean"].includes(typeof value))
    .slice(0, 4)
    .map(([key, value]) => `${key}: ${value}`)
    .join(", ");
}

/** {percent: number|null, text: string} for a progress value, or null when there is none. */
export function describeProgress(progress) {
  if (typeof progress === "number" && Number.isFinite(progress)) {
    const percent = clampPercent(progress <= 1 ? progress * 100 : progress);
    return { percent, text: `${Math.round(percent)}%` };
  }
  if (!progress || typeof progress !== "object" || Array.isArray(progress)) return null;
  const done = firstNumber(progress, DONE_KEYS);
  const total = firstNumber(progress, TOTAL_KEYS);
  const percent = percentOf(progress, done, total);
  const note = NOTE_KEYS.map((key) => progress[key]).find((value) => typeof value === "string") || "";
  const parts = [amountText(done, total), percent === null ? "" : `${Math.round(percent)}%`, note];
  const text = parts.filter(Boolean).join(" · ") || otherFields(progress);
  return text || percent !== null ? { percent, text } : null;
}
