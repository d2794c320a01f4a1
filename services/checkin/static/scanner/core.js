// What every part of the scanner shares: texts, storage, the API client, notices, state.

const root = document.getElementById("scanner");
export const API = root.dataset.apiBase;
export const LANG = root.dataset.lang === "en" ? "en" : "ar";
export const TEXT = JSON.parse(document.getElementById("scanner-texts").textContent);
export const $ = (id) => document.getElementById(id);

export const STORE = {
  token: "hudoor.scanner.token",
  device: "hudoor.scanner.device",
  lists: "hudoor.scanner.lists",
  list: "hudoor.scanner.list.",
  direction: "hudoor.scanner.direction",
  queue: "hudoor.scanner.queue",
  keys: "hudoor.scanner.badge-keys",
};
const REQUEST_MS = 4000; // past this a weak network counts as down and a scan is queued

export const state = {
  token: null, // the device's bearer token (localStorage and this header only)
  device: null, // {id, event_id, gate, name}
  listId: null,
  direction: "entry",
};

export function t(code, params = {}) {
  const text = TEXT[code] ?? code;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? params[name] : whole));
}

export function load(key, fallback) {
  try {
    const raw = localStorage.getItem(key);
    return raw === null ? fallback : JSON.parse(raw);
  } catch {
    return fallback;
  }
}

export function save(key, value) {
  localStorage.setItem(key, JSON.stringify(value));
}

export function newNonce() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // randomUUID needs a secure context; a plain-HTTP venue server still gets random nonces.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function localized(obj, name) {
  const other = LANG === "ar" ? "en" : "ar";
  return obj[`${name}_${LANG}`] || obj[`${name}_${other}`] || "";
}

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// fetch() of an API path relative to the page (so it works under any mount prefix); it throws
// on a network failure or timeout, which callers treat as "offline".
export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json", "Accept-Language": LANG };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(API + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
    credentials: "omit",
    signal: AbortSignal.timeout(REQUEST_MS),
  });
  setOnline(true);
  return response;
}

export function setOnline(online) {
  const badge = $("network");
  badge.className = `net ${online ? "net-online" : "net-offline"}`;
  badge.textContent = t(online ? "scanner.online" : "scanner.offline");
}

export function showNotice(text) {
  $("door-notice").hidden = !text;
  $("door-notice").textContent = text;
}

export function showEnrol(error) {
  $("door").hidden = true;
  $("enrol").hidden = false;
  $("enrol-error").hidden = !error;
  $("enrol-error").textContent = error || "";
}

// A revoked or expired device token ends the session: back to enrolment (the camera stops).
export function tokenRefused() {
  localStorage.removeItem(STORE.token);
  state.token = null;
  showEnrol(t("scanner.token_refused"));
}

export async function showRefusal(response) {
  if (response.status === 401) return tokenRefused();
  showNotice(t("scanner.server_error", { detail: await problemDetail(response) }));
}

export async function problemDetail(response) {
  try {
    const problem = await response.json();
    return problem.detail || problem.title || String(response.status);
  } catch {
    return String(response.status);
  }
}
