// Submit a resize job, then poll its state once a second until it is terminal.
// Every value from the server is shown as text, never as HTML.
const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

async function send(path, options = {}) {
  const response = await fetch(path, { headers: { "Content-Type": "application/json" }, ...options });
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail || `HTTP ${response.status}`);
  return body;
}

async function follow(jobId) {
  for (;;) {
    let job;
    try {
      job = await send(`/api/jobs/${encodeURIComponent(jobId)}`);
    } catch (error) {
      $("error").textContent = `reconnecting: ${error.message}`;
      await new Promise((done) => setTimeout(done, 1000));
      continue;
    }
    $("status").textContent = job.status;
    $("message").textContent = job.message;
    $("error").textContent = job.error || "";
    if (job.terminal) {
      $("result").textContent = job.result ? JSON.stringify(job.result) : "";
      return;
    }
    await new Promise((done) => setTimeout(done, 1000));
  }
}

$("resize-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const input = {
    image: form.elements.image.value.trim(),
    width: Number(form.elements.width.value),
    height: Number(form.elements.height.value),
  };
  $("error").textContent = "";
  $("result").textContent = "";
  try {
    const job = await send("/api/jobs", { method: "POST", body: JSON.stringify(input) });
    $("status").textContent = job.status;
    await follow(job.job_id);
  } catch (error) {
    $("error").textContent = error.message;
  }
});
