// Render /openapi.json as a plain list of endpoints (text only, no third-party viewer).

import { requestJSON } from "./http.js";

function endpoint(method, path, operation) {
  const item = document.createElement("li");
  const verb = document.createElement("span");
  verb.className = "method";
  verb.textContent = method.toUpperCase();
  const where = document.createElement("code");
  where.textContent = path;
  const what = document.createElement("p");
  what.textContent = operation.description || operation.summary || "";
  const codes = document.createElement("p");
  codes.className = "codes";
  codes.textContent = `Answers: ${Object.keys(operation.responses || {}).join(", ")}`;
  item.append(verb, where, what, codes);
  return item;
}

async function main() {
  const result = await requestJSON("/openapi.json");
  const list = document.querySelector('[data-testid="docs-list"]');
  const description = document.querySelector('[data-testid="docs-description"]');
  if (!result.ok || !result.data) {
    description.textContent = "Could not load /openapi.json.";
    return;
  }
  const spec = result.data;
  document.querySelector('[data-testid="docs-title"]').textContent = `${spec.info.title} ${spec.info.version}`;
  description.textContent = spec.info.description || "";
  const items = [];
  for (const [path, operations] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(operations)) items.push(endpoint(method, path, operation));
  }
  list.replaceChildren(...items);
}

main();
