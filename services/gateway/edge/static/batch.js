// Batches on the page: a CSV dropped, chosen or pasted is checked by the server (a dry run:
// the same parser and rules as the real submission) and its row count and first errors shown
// before anything is sent; then POST /v1/batches and a progress bar read from
// GET /v1/batches/{id}. The batch id stays in the tab's session storage, so the progress
// survives a lost connection and a reload; the downloads are the signed URLs the server gives.

const $ = (id) => document.getElementById(id);
const STORED_BATCH = "barcode.batch_id";
const POLL_MS = 500;
const CHECK_DELAY_MS = 300;

const state = { headers: () => ({}), defaults: () => ({}), checkTimer: null, checkedText: null, key: null, following: null };

function query(extra) {
  const params = new URLSearchParams();
  const defaults = state.defaults();
  for (const name of ["symbology", "format", "company"]) {
    if (defaults[name]) params.set(name, defaults[name]);
  }
  params.set("sheet", JSON.stringify({ preset: $("batch-sheet").value }));
  for (const [name, value] of Object.entries(extra)) params.set(name, value);
  return params;
}

async function post(extra) {
  const response = await fetch(`/v1/batches?${query(extra)}`, {
    method: "POST", headers: { ...state.headers(), "Content-Type": "text/csv" }, body: $("batch-csv").value,
  });
  return { ok: response.ok, status: response.status, body: await response.json().catch(() => ({})) };
}

function showErrors(list, errors) {
  list.replaceChildren(...(errors || []).map((e) => {
    const item = document.createElement("li");
    item.textContent = `row ${e.row}: ${e.message} (${e.code})`;
    return item;
  }));
}

async function check() {
  const text = $("batch-csv").value;
  const send = $("batch-send");
  send.disabled = true;
  send.textContent = "Send batch";
  showErrors($("batch-errors"), []);
  if (!text.trim()) {
    $("batch-check").textContent = "";
    return;
  }
  $("batch-check").textContent = "checking…";
  const { ok, body } = await post({ dry_run: "1" });
  if ($("batch-csv").value !== text) return;  // edited meanwhile: the next check answers
  if (!ok) {
    $("batch-check").textContent = body.error ? body.error.message : "the batch could not be checked";
    return;
  }
  state.checkedText = text;
  $("batch-check").textContent = `${body.total} rows: ${body.valid} valid, ${body.invalid} with errors`
    + (body.invalid > body.errors.length ? ` (the first ${body.errors.length} below)` : "");
  showErrors($("batch-errors"), body.errors);
  send.disabled = body.valid === 0;
  send.textContent = `Send batch (${body.total} rows)`;
}

function scheduleCheck() {
  clearTimeout(state.checkTimer);
  state.checkTimer = setTimeout(check, CHECK_DELAY_MS);
}

async function readFile(file) {
  if (!file) return;
  $("batch-csv").value = await file.text();
  state.key = null;
  check();
}

async function send(event) {
  event.preventDefault();
  if ($("batch-send").disabled) return;
  // One idempotency key per text: a click repeated after a lost answer gets the same batch.
  state.key = state.key || newKey();
  $("batch-send").disabled = true;
  const { ok, body } = await post({ idempotency_key: state.key });
  if (!ok) {
    $("batch-check").textContent = body.error ? body.error.message : "the batch was not accepted";
    $("batch-send").disabled = false;
    return;
  }
  sessionStorage.setItem(STORED_BATCH, body.batch_id);
  follow(body.batch_id);
}

// crypto.randomUUID exists only in secure contexts; a page reached over plain http on a LAN
// address is not one.
function newKey() {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function seconds(value) {
  return value >= 90 ? `${Math.round(value / 60)} min` : `${Math.round(value)} s`;
}

function showStatus(b) {
  $("batch").hidden = false;
  const done = b.done ?? (b.completed + b.failed + b.cancelled);
  $("batch-progress").max = Math.max(1, b.total);
  $("batch-progress").value = done;
  let text = `${done} of ${b.total} rows`;
  if (b.failed) text += `, ${b.failed} failed`;
  if (b.status === "running") {
    if (b.rows_per_s) text += ` · ${Math.round(b.rows_per_s)} rows/s · about ${seconds(b.eta_s || 0)} left`;
  } else if (b.status === "assembling") {
    text += " · writing the ZIP and the label sheet…";
  } else {
    text = `${b.status}: ${text}`;
    if (b.labels !== undefined) text += ` · ${b.labels} labels on the sheet`;
    if (b.labels_not_placed) text += ` (${b.labels_not_placed} too large for the label, listed in the manifest)`;
  }
  $("batch-status").textContent = text;
  showErrors($("batch-failed"), b.errors);
  const finished = b.status === "completed" || b.status === "cancelled";
  $("batch-cancel").hidden = finished;
  $("batch-downloads").hidden = !finished;
  if (finished) {
    $("batch-zip").href = b.archive_url;
    $("batch-pdf").href = b.sheet_url;
    $("batch-manifest").href = b.manifest_url;
  }
  return finished;
}

async function follow(batchId) {
  state.following = batchId;
  $("batch").hidden = false;
  let delay = POLL_MS;
  while (state.following === batchId) {
    try {
      const response = await fetch(`/v1/batches/${encodeURIComponent(batchId)}`, { headers: state.headers() });
      const body = await response.json();
      if (response.status === 404) {
        sessionStorage.removeItem(STORED_BATCH);
        $("batch-status").textContent = "this batch is no longer known (older than a day?)";
        return;
      }
      if (response.ok) {
        delay = POLL_MS;
        if (showStatus(body)) return;
      }
    } catch {
      // The gateway is away (a restart, the network): keep the bar, say so, try again.
      $("batch-status").textContent += " · reconnecting…";
      delay = Math.min(delay * 2, 5000);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

async function cancel() {
  const batchId = state.following;
  if (!batchId) return;
  await fetch(`/v1/batches/${encodeURIComponent(batchId)}`, { method: "DELETE", headers: state.headers() });
}

export function startBatches({ headers, defaults }) {
  state.headers = headers;
  state.defaults = defaults;
  $("batch-csv").addEventListener("input", () => { state.key = null; scheduleCheck(); });
  $("batch-sheet").addEventListener("change", scheduleCheck);
  $("batch-file").addEventListener("change", () => readFile($("batch-file").files[0]));
  const drop = $("batch-drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.dataset.over = ""; });
  drop.addEventListener("dragleave", () => { delete drop.dataset.over; });
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    delete drop.dataset.over;
    readFile(event.dataTransfer.files[0]);
  });
  $("batch-form").addEventListener("submit", send);
  $("batch-cancel").addEventListener("click", cancel);
  const earlier = sessionStorage.getItem(STORED_BATCH);
  if (earlier) follow(earlier);
}
