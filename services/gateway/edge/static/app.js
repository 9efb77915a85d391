// The try-it page: one WebSocket, a form generated from the API's own catalogue, a live
// timeline per job, a session history. Plain JavaScript (no build step): what is in the
// repository is what the browser runs.

import { startBatches } from "./batch.js";
import { DEFAULT_DPMM, ZPL_TYPE, drawLabel, latin1, sizeText } from "./zpl.js";

const $ = (id) => document.getElementById(id);
const STEPS = ["accepted", "routed", "rendered", "stored", "delivered"];
// Which form field an error code concerns, so the message appears next to it.
const FIELD_OF = {
  data_too_long: "data", invalid_check_digit: "data", invalid_characters: "data", invalid_length: "data",
  invalid_data: "data", invalid_request: "data", unknown_symbology: "symbology", symbology_not_allowed: "symbology",
  unknown_format: "format", format_not_allowed: "format", invalid_option: "options", output_too_large: "options",
  company_not_allowed: "company",
};

const STORED = { key: "barcode.api_key", client: "barcode.client_id", token: "barcode.resume_token" };

const page = {
  symbologies: [], companies: [], byName: new Map(),
  // What a browser shows in an <img>, by format name and by content type (GET /v1/formats).
  inline: new Set(), inlineTypes: new Set(),
  jobs: new Map(),          // request_id -> job (every job this page submitted or was told about)
  byJobId: new Map(),       // job_id -> job
  current: null, socket: null, nextId: 1, lastSeq: -1, holdUntil: 0, backoffMs: 500,
  // Session storage only: the key and the resume token die with the tab, and neither ever goes
  // in a URL (query strings end up in logs and proxies).
  apiKey: sessionStorage.getItem(STORED.key),
  clientId: sessionStorage.getItem(STORED.client),
  token: sessionStorage.getItem(STORED.token),
  company: null,            // the company the server authenticated the key as
  handshake: null,          // while connecting: "hello" | "auth" | "resume"; null once ready
  issued: null,             // the new client the server offered on this socket, used unless we resume
  outbox: [],               // generate messages not yet accepted: (re)sent on every (re)connect
};

// ---- REST ---------------------------------------------------------------------------------

// Every REST call carries the key, so a keyed company's files and lists are readable.
function api(path) {
  return fetch(path, { headers: page.apiKey ? { "X-API-Key": page.apiKey } : {} });
}

async function getJson(path) {
  let response = await api(path);
  if (response.status === 401 && page.apiKey) {  // a key kept from earlier, revoked since
    const body = await response.json().catch(() => ({}));
    forgetKey(body.error || { code: "invalid_api_key", message: `HTTP ${response.status}` });
    response = await api(path);
  }
  return response.json();
}

// ---- connection ---------------------------------------------------------------------------
//
// Handshake, in the order the server requires (a token issued before auth does not work after
// it, and the other way round): the server's hello (a fresh client) -> auth, when a key is set ->
// resume, when this tab had a client -> ready: the outbox is sent.

function setConnection(state, text) {
  const el = $("connection");
  el.dataset.state = state;
  el.textContent = text;
}

function remember(clientId, token) {
  page.clientId = clientId;
  page.token = token;
  if (clientId) {
    sessionStorage.setItem(STORED.client, clientId);
    sessionStorage.setItem(STORED.token, token);
  } else {
    sessionStorage.removeItem(STORED.client);
    sessionStorage.removeItem(STORED.token);
    page.lastSeq = -1;
  }
}

function connect() {
  const url = new URL("/v1/ws", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(url);  // no query: what identifies this tab goes in messages
  page.socket = ws;
  page.handshake = "hello";
  ws.onmessage = (event) => onMessage(JSON.parse(event.data));
  ws.onclose = () => {
    if (page.socket !== ws) return;
    page.socket = null;
    setConnection("reconnecting", "reconnecting…");
    const delay = Math.max(page.backoffMs, page.holdUntil - Date.now());
    page.backoffMs = Math.min(page.backoffMs * 2, 5000);
    setTimeout(connect, delay);
  };
}

// A new identity (a key set or forgotten) is a new client: the old resume token would be refused.
function reconnectAs(apiKey) {
  page.apiKey = apiKey;
  if (apiKey) sessionStorage.setItem(STORED.key, apiKey);
  else sessionStorage.removeItem(STORED.key);
  page.company = null;
  remember(null, null);
  const old = page.socket;
  page.socket = null;  // its close must not schedule a reconnect of its own
  if (old) old.close(1000, "identity changed");
  showKey();
  setConnection("connecting", "connecting…");
  connect();
}

function send(message) {
  if (page.socket && page.socket.readyState === WebSocket.OPEN && !page.handshake) {
    page.socket.send(wire(message));
  }
}

// A GS1 job's AIs go out in the order they were typed, which its element string keeps: a JSON
// object would not keep it (integer-like keys such as "10" and "17" are written before "01").
function wire(message) {
  const pairs = message.data && message.data.gs1;
  if (!Array.isArray(pairs)) return JSON.stringify(message);
  const gs1 = pairs.map(([ai, value]) => `${JSON.stringify(ai)}:${JSON.stringify(value)}`).join(",");
  const rest = JSON.stringify({ ...message, data: undefined });  // undefined: left out
  return `${rest.slice(0, -1)},"data":{"gs1":{${gs1}}}}`;
}

function handshakeSend(message) {
  page.socket.send(JSON.stringify(message));
}

function afterAuth() {
  if (page.clientId && page.token && page.clientId !== page.issued.client_id) {
    page.handshake = "resume";
    const resume = { type: "resume", client_id: page.clientId, resume_token: page.token };
    if (page.lastSeq >= 0) resume.last_seq = page.lastSeq;
    handshakeSend(resume);
  } else {
    ready(page.issued.client_id, page.issued.resume_token, false);
  }
}

function ready(clientId, token, resumed) {
  if (page.clientId !== clientId) page.lastSeq = -1;
  remember(clientId, token);
  page.handshake = null;
  page.backoffMs = 500;
  setConnection("connected", resumed ? "connected (resumed)" : "connected");
  for (const message of page.outbox) send(message);  // idempotency keys make resends safe
}

function onHandshakeError(error) {
  if (page.handshake === "auth") {
    forgetKey(error);
    afterAuth();
  } else if (page.handshake === "resume") {
    // Expired, or issued to another identity: the next socket starts a fresh client instead
    // of offering the same token again. The server closes this one on invalid_resume_token.
    remember(null, null);
    if (error.code !== "invalid_resume_token") ready(page.issued.client_id, page.issued.resume_token, false);
  }
}

function onMessage(m) {
  switch (m.type) {
    case "hello":
      if (m.resumed) {
        ready(m.client_id, m.resume_token, true);
        break;
      }
      page.issued = { client_id: m.client_id, resume_token: m.resume_token };
      if (page.apiKey) {
        page.handshake = "auth";
        handshakeSend({ type: "auth", api_key: page.apiKey });
      } else {
        afterAuth();
      }
      break;
    case "authenticated": {
      const changed = page.company !== m.company;  // on a reconnect, keep what the person picked
      page.company = m.company;
      // The token of the hello before auth was anonymous; this one is bound to the key.
      if (m.resume_token) page.issued = { client_id: m.client_id, resume_token: m.resume_token };
      showKey();
      if (changed) useCompany(m.company);
      afterAuth();
      break;
    }
    case "accepted": {
      const job = page.jobs.get(m.request_id);
      if (!job) break;
      page.outbox = page.outbox.filter((o) => o.request_id !== m.request_id);
      job.jobId = m.job_id;
      page.byJobId.set(m.job_id, job);
      step(job, "accepted");
      break;
    }
    case "progress": {
      const job = page.byJobId.get(m.job_id);
      if (job) step(job, m.step);
      break;
    }
    case "completed":
    case "failed":
      if (typeof m.seq === "number") page.lastSeq = Math.max(page.lastSeq, m.seq);
      finish(m);
      break;
    case "error": {
      if (page.handshake) {
        onHandshakeError(m.error);
        break;
      }
      const job = page.jobs.get(m.request_id);
      page.outbox = page.outbox.filter((o) => o.request_id !== m.request_id);
      if (job) fail(job, m.error);
      break;
    }
    default:
      break;
  }
}

// ---- the key ------------------------------------------------------------------------------

function showKey(refused) {
  $("forget-key").hidden = !page.apiKey;
  $("key-error").textContent = refused ? `Key refused: ${refused}` : "";
  $("key-status").textContent = !page.apiKey ? "No key: anonymous."
    : page.company ? `Key of ${page.company}: its jobs and files are yours to see.` : "Checking the key…";
}

// A refused key is not sent again on every reconnect: the page goes on without it until one is
// pasted (three refusals on one socket close it; failures count against this address).
function forgetKey(error) {
  page.apiKey = null;
  sessionStorage.removeItem(STORED.key);
  showKey(`${error.code}: ${error.message}`);
}

function useCompany(name) {
  if ([...$("company").options].some((o) => o.value === name)) {
    $("company").value = name;
    onCompany();
  }
}

function onKeySubmit(event) {
  event.preventDefault();
  const key = $("api-key").value.trim();
  $("api-key").value = "";  // not left in the DOM once used
  if (key) reconnectAs(key);
}

// ---- jobs ---------------------------------------------------------------------------------

function step(job, name) {
  if (job.steps[name] === undefined) job.steps[name] = performance.now() - job.started;
  show(job);
}

function finish(m) {
  let job = page.byJobId.get(m.job_id) || page.jobs.get(m.request_id);
  if (!job) {  // a result for a job submitted before a reload: still this client's
    job = newJob(m.request_id || m.job_id, `job ${m.job_id.slice(0, 8)}`, {});
    job.jobId = m.job_id;
    page.byJobId.set(m.job_id, job);
  }
  if (job.status === "completed" || job.status === "failed") return;
  job.status = m.type;
  job.result = m;
  if (m.type === "completed") {
    fillFromTrace(job, m);
    loadFile(job);
  }
  step(job, "delivered");
  if (m.type === "failed") job.error = m.error;
  show(job);
}

// Progress events are best effort (one lost or late is dropped); a step without one is filled
// in from the result's trace, timed back from this message's arrival, so no clock sync is needed.
const TRACE_OF = { routed: "routed", rendered: "rendered", stored: "generated" };

function fillFromTrace(job, m) {
  const trace = m.trace || {};
  // Only for jobs sent from this page: one restored after a reload has no start to time from.
  if (trace.gateway_out === undefined || job.steps.accepted === undefined) return;
  const now = performance.now() - job.started;
  for (const [name, stamp] of Object.entries(TRACE_OF)) {
    if (job.steps[name] === undefined && trace[stamp] !== undefined) {
      job.steps[name] = Math.max(0, now - (trace.gateway_out - trace[stamp]));
    }
  }
}

// The file comes through this gateway, by the path of `file_url` (so from this page's origin
// even when links name a public base URL: the CSP allows no other), with the key, which a keyed
// company's files need and an <img src> cannot send. The page shows, and offers for download, a
// blob: URL of what it fetched.
async function loadFile(job) {
  try {
    const response = await api(new URL(job.result.file_url, location.href).pathname);
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${response.status}`);
    }
    const blob = await response.blob();
    job.fileSrc = URL.createObjectURL(blob);
    if (job.result.content_type === ZPL_TYPE) {
      job.zpl = { text: latin1(new Uint8Array(await blob.arrayBuffer())), dpmm: dpmmOf(job),
                  preview: null, error: null, drawing: false };
    }
  } catch (err) {
    job.fileError = `The file could not be loaded: ${err.message}`;
  }
  show(job);
}

// The density the label was made at: the job's own option, else its company's default, else
// the generator's. The preview is drawn at it (the renderer takes millimetres, a label gives dots).
function dpmmOf(job) {
  const profile = page.companies.find((c) => c.name === (job.result.company || job.request.company));
  return Number((job.request.options || {}).dpmm || (profile && profile.options.dpmm) || DEFAULT_DPMM);
}

// Drawn once, when the job is first shown: that is when the renderer is first imported.
async function drawPreview(job) {
  job.zpl.drawing = true;
  try {
    job.zpl.preview = await drawLabel(job.zpl.text, job.zpl.dpmm);
  } catch (err) {
    job.zpl.error = (err && err.message) || String(err);
  }
  job.zpl.drawing = false;
  show(job);
}

function fail(job, error) {
  job.status = "failed";
  job.error = error;
  show(job);
}

function newJob(requestId, data, request) {
  const job = { requestId, data, request, jobId: null, status: "running", steps: {},
                started: performance.now(), result: null, error: null, item: null,
                fileSrc: null, fileError: null, zpl: null, gs1: null };
  page.jobs.set(requestId, job);
  return job;
}

function submit(event) {
  event.preventDefault();
  clearErrors();
  let options;
  try {
    options = readOptions();
  } catch (err) {
    showError("options", err.message);
    return;
  }
  let gs1 = null;
  try {
    const link = readDigitalLink();
    if (link !== undefined) options.digital_link = link;
    if (gs1InUse()) gs1 = readGs1();
  } catch (err) {
    showError("gs1", err.message);
    return;
  }
  // GS1 data is one job, named by its element string; text is one job a line.
  const values = gs1 ? [elementString(gs1)] : $("data").value.split("\n").map((v) => v.trim()).filter(Boolean);
  if (values.length === 0) {
    showError("data", "Type the data to encode.");
    return;
  }
  let first = null;
  for (const text of values) {
    const requestId = `page-${Date.now().toString(36)}-${page.nextId++}`;
    const request = { type: "generate", request_id: requestId, idempotency_key: requestId, progress: true,
                      data: gs1 ? { gs1 } : text, company: $("company").value, symbology: $("symbology").value,
                      format: $("format").value, options };
    const job = newJob(requestId, text, request);
    job.gs1 = gs1;  // [[AI, value], ...] as sent, or null for text
    step(job, "submitted");
    page.outbox.push(request);
    send(request);
    first = first || job;
  }
  page.current = first;
  show(first);
}

// ---- rendering ----------------------------------------------------------------------------

function ms(value) { return `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`; }

function show(job) {
  renderHistoryItem(job);
  if (page.current !== job) return;
  $("current").hidden = false;
  $("current-title").textContent = `Job ${job.jobId || "(sending)"}: ${job.data}`;
  const timeline = $("timeline");
  timeline.replaceChildren(...STEPS.map((name) => {
    const li = document.createElement("li");
    const at = job.steps[name];
    // Lost progress is filled in from the trace, so a step still missing from a completed job
    // did not happen (a barcode the generator had stored is not drawn again): say so, not a gap.
    const skipped = at === undefined && job.status === "completed" && job.steps.accepted !== undefined;
    li.textContent = at !== undefined ? `${name} ${ms(at)}` : skipped ? `${name}: skipped` : name;
    if (at !== undefined) li.dataset.done = "";
    if (job.status === "failed" && at === undefined) li.dataset.failed = "";
    return li;
  }));
  const result = $("result");
  result.className = "result";
  result.replaceChildren();
  if (job.error) {
    showError(errorField(job), `${job.error.code}: ${job.error.message}`);
    const p = document.createElement("p");
    p.className = "error";
    p.textContent = `${job.error.code}: ${job.error.message}`;
    result.append(p);
    return;
  }
  const m = job.result;
  if (!m) return;
  const format = (job.request.format || "").toLowerCase() || m.content_type;
  if (job.fileError) {
    const p = document.createElement("p");
    p.className = "error";
    p.textContent = job.fileError;
    result.append(p);
  }
  if (job.zpl) result.append(zplView(job));
  if (job.fileSrc && (page.inline.has(format) || page.inlineTypes.has(m.content_type))) {
    const img = document.createElement("img");
    img.id = "result-image";
    img.alt = `${job.request.symbology || "barcode"} encoding ${job.data}`;
    img.src = job.fileSrc;
    img.onload = () => { $("result-pixels").textContent = ` · ${img.naturalWidth} × ${img.naturalHeight} px`; };
    result.append(img);
  }
  const facts = document.createElement("p");
  const company = document.createElement("span");
  company.id = "result-company";
  company.textContent = m.company || "Default";
  const pixels = document.createElement("span");
  pixels.id = "result-pixels";
  if (job.zpl) pixels.textContent = sizeText(job.zpl.text, job.zpl.dpmm);
  const bytes = document.createElement("span");
  bytes.textContent = m.size_bytes !== undefined ? ` · ${m.size_bytes.toLocaleString()} bytes` : "";
  const badge = document.createElement("span");
  badge.id = "result-verified";
  badge.className = m.verified ? "badge ok" : "badge none";
  badge.textContent = m.verified ? "scan-verified ✓" : "not scan-verified";
  facts.append(company, pixels, bytes, " · ", badge);
  if (job.fileSrc) {
    const link = document.createElement("a");
    link.href = job.fileSrc;
    link.download = `${m.job_id}.${job.zpl ? "zpl" : format || "bin"}`;
    link.textContent = job.zpl ? "Download .zpl" : "Download";
    facts.append(" · ", link);
  }
  result.append(facts);
  const gs1 = gs1Facts(job);
  if (gs1) result.append(gs1);
  if (!page.apiKey) result.append(imageUrlTools(job, page.inlineTypes.has(m.content_type)));
}

// Which field an error is shown next to. A GS1 job's data, and any job's Digital Link, are typed
// in the GS1 box: their errors go there, not under a Data field that was not sent.
function errorField(job) {
  const field = FIELD_OF[job.error.code] || "data";
  if (field === "data" && job.gs1) return "gs1";
  if (field === "options" && job.error.message.includes("digital_link")) return "gs1";
  return field;
}

// What a GS1 job was sent as, in what the page knows for certain: the element string it built
// and where its Digital Link points (the link itself is built by the server and is in the image).
function gs1Facts(job) {
  const link = (job.request.options || {}).digital_link;
  if (!job.gs1 && !link) return null;
  const parts = [];
  if (job.gs1) parts.push(`GS1 element string: ${job.data}`);
  if (link) {
    const company = (job.result && job.result.company) || job.request.company || "the company";
    parts.push(`encoded as its GS1 Digital Link at ${link === true ? `${company}'s resolver` : link}`);
  }
  const p = document.createElement("p");
  p.id = "result-gs1";
  p.className = "hint";
  p.textContent = parts.join(" · ");
  return p;
}

// A ZPL result: the label as a printer prints it, beside its text. If the renderer cannot be
// loaded or cannot draw it, the text is still there and the page says so.
function zplView(job) {
  const zpl = job.zpl;
  if (!zpl.preview && !zpl.error && !zpl.drawing) drawPreview(job);
  const figure = document.createElement("figure");
  if (zpl.preview) {
    const img = document.createElement("img");
    img.id = "result-image";
    img.alt = `ZPL label: ${job.request.symbology || "barcode"} encoding ${job.data}`;
    img.src = zpl.preview;
    figure.append(img);
  } else {
    const status = document.createElement("p");
    status.id = "zpl-preview-status";
    status.className = zpl.error ? "error" : "hint";
    status.textContent = zpl.error ? `Preview unavailable: ${zpl.error}. The label's text is beside it.`
      : "Drawing the label…";
    figure.append(status);
  }
  const caption = document.createElement("figcaption");
  caption.className = "hint";
  caption.textContent = "Drawn in this browser by zebrash, the ZPL renderer labels are verified with.";
  figure.append(caption);
  const text = document.createElement("pre");
  text.id = "zpl-text";
  text.tabIndex = 0;  // a scrollable region: reachable by keyboard
  text.setAttribute("aria-label", "ZPL label text");
  text.textContent = zpl.text;
  const box = document.createElement("div");
  box.className = "zpl";
  box.append(figure, text);
  return box;
}

// The same barcode as an image URL (GET /v1/barcode): what a template, a label designer or a
// spreadsheet takes. Only without an API key: a keyed company's images need its key, which
// never goes in a URL.
function imageUrl(job) {
  const query = new URLSearchParams({ symbology: job.request.symbology, data: job.data });
  if (job.request.format) query.set("format", job.request.format);
  if (job.request.company) query.set("company", job.request.company);
  const options = { ...job.request.options };
  // A QR code or Data Matrix of {"gs1": ...} data is drawn in GS1 mode; a URL's data is the
  // element string, which says so only with the option (a GS1 symbology needs none).
  const symbology = page.byName.get(job.request.symbology);
  if (job.gs1 && !options.digital_link && symbology && !symbology.gs1) options.gs1 = true;
  for (const [name, value] of Object.entries(options)) query.set(name, String(value));
  return `${location.origin}/v1/barcode?${query}`;
}

// The <img> tag only for what a browser shows in one (not a ZPL label, a PDF).
function imageUrlTools(job, inline) {
  const url = imageUrl(job);
  const tools = document.createElement("p");
  tools.className = "image-url";
  const field = document.createElement("input");
  field.id = "image-url";
  field.readOnly = true;
  field.value = url;
  field.setAttribute("aria-label", "Image URL");
  const copy = (label, text) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.addEventListener("click", async () => {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied ✓";
      setTimeout(() => { button.textContent = label; }, 1500);
    });
    return button;
  };
  const alt = `${job.request.symbology} ${job.data}`.replaceAll("&", "&amp;").replaceAll('"', "&quot;").replaceAll("<", "&lt;");
  tools.append(field, " ", copy("Copy image URL", url));
  if (inline) tools.append(" ", copy("Copy <img> tag", `<img src="${url.replaceAll("&", "&amp;")}" alt="${alt}">`));
  return tools;
}

function renderHistoryItem(job) {
  if (!job.item) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.addEventListener("click", () => { page.current = job; clearErrors(); show(job); });
    li.append(button);
    $("history").prepend(li);
    job.item = button;
  }
  const button = job.item;
  button.replaceChildren();
  const m = job.result;
  const thumbnail = job.zpl ? job.zpl.preview : job.fileSrc && page.inlineTypes.has(m.content_type) && job.fileSrc;
  if (thumbnail) {
    const img = document.createElement("img");
    img.src = thumbnail;
    img.alt = "";
    button.append(img);
  }
  const label = document.createElement("span");
  label.textContent = job.data;
  const status = document.createElement("span");
  status.className = "status";
  const last = STEPS.filter((s) => job.steps[s] !== undefined).pop() || "sending";
  status.dataset.status = job.status;
  status.textContent = job.status === "running" ? ` · ${last}` : ` · ${job.status}`;
  button.append(label, status);
  button.setAttribute("aria-label", `${job.data}: ${job.status === "running" ? last : job.status}`);
}

function showError(field, text) { $(`${field}-error`).textContent = text; }

function clearErrors() {
  for (const field of ["company", "symbology", "format", "options", "gs1", "data"]) showError(field, "");
}

// ---- form from the catalogue --------------------------------------------------------------

function company() { return page.companies.find((c) => c.name === $("company").value); }

function allowed(symbology) {
  const c = company();
  return !c || c.allowed_symbologies === "*" || c.allowed_symbologies.includes(symbology.name);
}

function fillSymbologies() {
  const query = $("symbology-search").value.trim().toLowerCase();
  const select = $("symbology");
  const keep = select.value;
  const groups = new Map();
  for (const s of page.symbologies) {
    if (!allowed(s)) continue;
    const text = `${s.name} ${s.label} ${s.family} ${s.aliases.join(" ")}`.toLowerCase();
    if (query && !text.includes(query)) continue;
    if (!groups.has(s.family)) groups.set(s.family, []);
    groups.get(s.family).push(s);
  }
  select.replaceChildren(...[...groups].map(([family, list]) => {
    const group = document.createElement("optgroup");
    group.label = family;
    group.append(...list.map((s) => new Option(s.label, s.name)));
    return group;
  }));
  if ([...select.options].some((o) => o.value === keep)) select.value = keep;
  onSymbology();
}

function onSymbology() {
  const s = page.byName.get($("symbology").value);
  const hint = $("symbology-hint");
  if (!s) {
    hint.textContent = "No symbology matches.";
    showGs1(null);
    return;
  }
  hint.textContent = `${s.data} Example: ${s.example}${s.verified ? " · decoded back after drawing" : ""}`;
  const c = company();
  const formats = s.formats.filter((f) => !c || c.allowed_formats.includes(f));
  const select = $("format");
  const keep = select.value || (c && c.format);
  select.replaceChildren(...formats.map((f) => new Option(f.toUpperCase(), f)));
  if (formats.includes(keep)) select.value = keep;
  buildOptions(s);
  showGs1(s);
}

function buildOptions(s) {
  const box = $("options");
  // digital_link is the GS1 box's switch (gs1DigitalLink), not a text field here as well.
  const generic = Object.entries(s.options).filter(([name]) => name !== "digital_link");
  box.replaceChildren(...generic.map(([name, spec]) => {
    const row = document.createElement("div");
    row.className = "option";
    const id = `option-${name}`;
    const label = document.createElement("label");
    label.htmlFor = id;
    const range = spec.minimum !== undefined ? ` (${spec.minimum}–${spec.maximum})` : "";
    label.textContent = `${name}${range}`;
    label.title = spec.description;
    let input;
    if (spec.enum || spec.type === "boolean") {
      input = document.createElement("select");
      const choices = spec.enum || [true, false];
      input.append(new Option("default", ""), ...choices.map((v) => new Option(String(v), JSON.stringify(v))));
    } else {
      input = document.createElement("input");
      if (spec.type === "number" || spec.type === "integer") {
        input.type = "number";
        input.step = spec.type === "integer" ? "1" : "any";
        if (spec.minimum !== undefined) input.min = spec.minimum;
        if (spec.maximum !== undefined) input.max = spec.maximum;
      } else if (spec.pattern) {
        input.pattern = spec.pattern.replace(/^\^|\$$/g, "");
        if (spec.pattern.startsWith("^#")) input.placeholder = "#000000";  // a colour
      }
      input.placeholder = input.placeholder || "default";
    }
    input.id = id;
    input.dataset.option = name;
    input.dataset.type = [].concat(spec.type).join(" ");  // "string boolean": either
    input.setAttribute("aria-description", spec.description);
    row.append(label, input);
    return row;
  }));
}

function readOptions() {
  const options = {};
  for (const input of $("options").querySelectorAll("[data-option]")) {
    const raw = input.value.trim();
    if (raw === "") continue;
    const name = input.dataset.option;
    if (input.tagName === "SELECT") options[name] = JSON.parse(raw);
    else if (input.dataset.type === "number" || input.dataset.type === "integer") {
      const value = Number(raw);
      if (!Number.isFinite(value)) throw new Error(`${name} must be a number`);
      if (input.min !== "" && value < Number(input.min)) throw new Error(`${name}: ${value} is below the minimum ${input.min}`);
      if (input.max !== "" && value > Number(input.max)) throw new Error(`${name}: ${value} is above the maximum ${input.max}`);
      options[name] = value;
    } else if (input.dataset.type.split(" ").includes("boolean") && (raw === "true" || raw === "false")) {
      options[name] = raw === "true";  // a string-or-boolean option: these two words are its booleans
    } else options[name] = raw;
  }
  return options;
}

// ---- GS1 data and its Digital Link ---------------------------------------------------------

// The AIs most labels carry, offered by name; any other AI of 2 to 4 digits can be typed.
const GS1_AIS = [
  ["01", "GTIN"], ["00", "SSCC"], ["414", "GLN"], ["10", "batch/lot"], ["21", "serial"],
  ["22", "CPV (consumer product variant)"], ["17", "expiry (YYMMDD)"], ["15", "best before (YYMMDD)"],
  ["11", "production date (YYMMDD)"], ["3103", "net weight, kg (3 decimals)"], ["254", "GLN extension"],
  ["37", "count"], ["02", "content GTIN"],
];
const AI_NAMES = new Map(GS1_AIS);
const AI = /^\d{2,4}$/;

// A GS1 symbology, or one with a GS1 mode or a Digital Link, can take {"gs1": {...}} data.
function gs1Capable(s) { return Boolean(s && (s.gs1 || "gs1" in s.options || "digital_link" in s.options)); }

function showGs1(s) {
  $("gs1-box").hidden = !gs1Capable(s);
  $("digital-link").hidden = !(s && "digital_link" in s.options);
  onGs1Editor();
}

function gs1InUse() { return !$("gs1-box").hidden && $("gs1-editor").open; }

// While the GS1 editor is open its AIs are the data: the Data field is disabled and says why.
function onGs1Editor() {
  const used = gs1InUse();
  $("data").disabled = used;
  $("data-hint").hidden = !used;
  if (used && $("gs1-rows").children.length === 0) addGs1Row("01");
}

function addGs1Row(ai = "") {
  const row = document.createElement("div");
  row.className = "gs1-row";
  const aiInput = document.createElement("input");
  aiInput.className = "gs1-ai";
  aiInput.setAttribute("list", "gs1-ais");
  aiInput.inputMode = "numeric";
  aiInput.autocomplete = "off";
  aiInput.value = ai;
  aiInput.addEventListener("input", () => nameAi(row));
  const value = document.createElement("input");
  value.className = "gs1-value";
  value.autocomplete = "off";
  value.spellcheck = false;
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "secondary";
  remove.textContent = "Remove";
  remove.addEventListener("click", () => removeGs1Row(row));
  row.append(aiInput, value, remove);
  $("gs1-rows").append(row);
  nameAi(row);
  numberGs1Rows();
  return row;
}

// The value field says what the AI is (its placeholder, and to a screen reader).
function nameAi(row) {
  const name = AI_NAMES.get(row.querySelector(".gs1-ai").value.trim()) || "";
  const value = row.querySelector(".gs1-value");
  value.placeholder = name;
  if (name) value.setAttribute("aria-description", name);
  else value.removeAttribute("aria-description");
}

// Labels by row number, renumbered when a row goes, so each field's name stays unique.
function numberGs1Rows() {
  [...$("gs1-rows").children].forEach((row, i) => {
    row.querySelector(".gs1-ai").setAttribute("aria-label", `AI, row ${i + 1}`);
    row.querySelector(".gs1-value").setAttribute("aria-label", `Value, row ${i + 1}`);
    row.querySelector("button").setAttribute("aria-label", `Remove row ${i + 1}`);
  });
}

// Focus moves to the next row (or the previous, or "Add an AI"), not back to the top of the page.
function removeGs1Row(row) {
  const next = row.nextElementSibling || row.previousElementSibling;
  row.remove();
  numberGs1Rows();
  (next ? next.querySelector(".gs1-ai") : $("gs1-add")).focus();
}

// The AIs as typed and in their order, blank rows left out; an Error names the row at fault.
// The values themselves (formats, dates, check digits) are the server's to check.
function readGs1() {
  const pairs = [];
  [...$("gs1-rows").children].forEach((row, i) => {
    const ai = row.querySelector(".gs1-ai").value.trim();
    const value = row.querySelector(".gs1-value").value.trim();
    if (!ai && !value) return;
    if (!AI.test(ai)) throw new Error(`Row ${i + 1}: an AI is 2 to 4 digits, e.g. 01 for a GTIN.`);
    if (!value) throw new Error(`Row ${i + 1}: AI (${ai}) needs a value.`);
    if (pairs.some(([seen]) => seen === ai)) throw new Error(`Row ${i + 1}: AI (${ai}) is given twice.`);
    pairs.push([ai, value]);
  });
  if (pairs.length === 0) throw new Error("Type an AI and its value, or close GS1 data to send the Data text.");
  return pairs;
}

function elementString(pairs) { return pairs.map(([ai, value]) => `(${ai})${value}`).join(""); }

// The digital_link option: ticked with no resolver is true (the company's), with one its
// address (the server checks it is https); undefined when off or not offered.
function readDigitalLink() {
  if ($("digital-link").hidden || !$("digital-link-on").checked) return undefined;
  return $("digital-link-resolver").value.trim() || true;
}

function startGs1() {
  $("gs1-ais").replaceChildren(...GS1_AIS.map(([ai, name]) => new Option(name, ai)));
  $("gs1-editor").addEventListener("toggle", onGs1Editor);
  $("gs1-add").addEventListener("click", () => addGs1Row().querySelector(".gs1-ai").focus());
  $("digital-link-on").addEventListener("change", onDigitalLink);
  onDigitalLink();  // a reload may have kept the box ticked
}

// The resolver is typed only for a Digital Link: a field that would be ignored is disabled.
function onDigitalLink() { $("digital-link-resolver").disabled = !$("digital-link-on").checked; }

function onCompany() {
  const c = company();
  fillSymbologies();
  if (c && [...$("symbology").options].some((o) => o.value === c.symbology)) {
    $("symbology").value = c.symbology;
    onSymbology();
  }
}

async function start() {
  const [catalogue, companies, formats] = await Promise.all([
    getJson("/v1/symbologies"), getJson("/v1/companies"), getJson("/v1/formats")]);
  const shown = formats.formats.filter((f) => f.inline);
  page.inline = new Set(shown.map((f) => f.name));
  page.inlineTypes = new Set(shown.map((f) => f.content_type));
  page.symbologies = catalogue.symbologies;
  page.byName = new Map(page.symbologies.map((s) => [s.name, s]));
  page.companies = companies.companies;
  $("company").replaceChildren(...page.companies.map((c) => new Option(c.name, c.name)));
  startGs1();
  $("company").addEventListener("change", onCompany);
  $("symbology-search").addEventListener("input", fillSymbologies);
  $("symbology").addEventListener("change", onSymbology);
  $("job-form").addEventListener("submit", submit);
  $("key-form").addEventListener("submit", onKeySubmit);
  $("forget-key").addEventListener("click", () => reconnectAs(null));
  showKey();
  $("data").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("job-form").requestSubmit();
    }
  });
  onCompany();
  connect();
  startBatches({
    headers: () => (page.apiKey ? { "X-API-Key": page.apiKey } : {}),
    defaults: () => ({ symbology: $("symbology").value, format: $("format").value, company: $("company").value }),
  });
}

// For people and tests: drop the socket as a network failure would, and stay away holdMs.
window.barcodePage = {
  dropSocket(holdMs = 0) {
    page.holdUntil = Date.now() + holdMs;
    if (page.socket) page.socket.close(4000, "dropped by the page");
  },
  clientId: () => page.clientId,
  jobs: () => [...page.jobs.values()].map((j) => ({ data: j.data, jobId: j.jobId, status: j.status, steps: j.steps })),
};

start();
