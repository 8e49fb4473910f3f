// The step bar: the workflow's happy path with the current stage marked.

/** Rebuild the step bar for `record` (`failedAt` is the stage a failed job stopped in). */
export function renderSteps(list, path, record, failedAt) {
  if (!path.length) {
    list.hidden = true;
    return;
  }
  const here = record.failed ? path.indexOf(failedAt) : path.indexOf(record.status);
  const items = path.map((status, index) => {
    const item = document.createElement("li");
    item.textContent = status.replaceAll("_", " ").toLowerCase();
    item.dataset.status = status;
    item.className = stepClass(index, here, record);
    return item;
  });
  list.replaceChildren(...items);
  list.hidden = false;
}

function stepClass(index, here, record) {
  if (record.failed) {
    if (index === here) return "step failed";
    return index < here ? "step done" : "step";
  }
  if (record.terminal && here === -1) return "step";
  if (index < here || (record.terminal && index === here)) return "step done";
  return index === here ? "step current" : "step";
}
