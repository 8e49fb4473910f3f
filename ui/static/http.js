// Small fetch wrapper: JSON in and out, a per-request timeout, never throws.

import { noteServerDate } from "./clock.js";

export const REQUEST_TIMEOUT_MS = 4000;

/**
 * Send one request and read its JSON answer.
 * Resolves to {status, ok, data, etag}; status 0 means no answer (network error, timeout or
 * abort); a 204 or 304 has no data. `ifNoneMatch` asks for a 304 when the entity tag still holds.
 */
export async function requestJSON(url, { method = "GET", body, timeoutMs = REQUEST_TIMEOUT_MS, signal, ifNoneMatch } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const forwardAbort = () => controller.abort();
  signal?.addEventListener("abort", forwardAbort, { once: true });
  const init = {
    method,
    signal: controller.signal,
    cache: "no-store",
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  };
  if (ifNoneMatch) init.headers["If-None-Match"] = ifNoneMatch;
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  try {
    const response = await fetch(url, init);
    noteServerDate(response.headers.get("Date"));
    const empty = response.status === 204 || response.status === 304;
    const data = empty ? null : await response.json().catch(() => null);
    return { status: response.status, ok: response.ok, data, etag: response.headers.get("ETag") };
  } catch {
    return { status: 0, ok: false, data: null, etag: null };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", forwardAbort);
  }
}

/** The server's explanation of a failed answer, or `fallback`. */
export function detailOf(result, fallback) {
  const detail = result.data?.detail;
  return typeof detail === "string" && detail ? detail : fallback;
}

/** The API path of one job (ids are encoded, never pasted raw into a URL). */
export function jobPath(jobId, suffix = "") {
  return `/api/jobs/${encodeURIComponent(jobId)}${suffix}`;
}
