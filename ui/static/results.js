// Render a finished job's result (transcript, quotes, summary) as plain text nodes.

function textOf(value) {
  if (typeof value === "string") return value;
  if (value && typeof value === "object") {
    for (const key of ["text", "quote", "summary", "transcript"]) {
      if (typeof value[key] === "string") return value[key];
    }
  }
  if (Array.isArray(value)) return value.map(textOf).filter(Boolean).join(" ");
  return value === null || value === undefined ? "" : String(value);
}

function quotesOf(result) {
  const quotes = result.quotes;
  if (Array.isArray(quotes)) return quotes.map(textOf).filter(Boolean);
  const single = textOf(quotes);
  return single ? [single] : [];
}

/** Fill the result elements; every string goes in through textContent. */
export function renderResults(el, result) {
  const data = result && typeof result === "object" ? result : {};
  el.summary.textContent = textOf(data.summary) || "No summary.";
  el.transcript.textContent = textOf(data.transcript) || "No transcript.";
  const items = quotesOf(data).map((quote) => {
    const item = document.createElement("li");
    item.textContent = quote;
    return item;
  });
  if (!items.length) {
    const none = document.createElement("li");
    none.className = "muted";
    none.textContent = "No quotes.";
    items.push(none);
  }
  el.quotes.replaceChildren(...items);
}
