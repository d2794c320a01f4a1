// Hudoor door scanner: enrolment, list and direction, and what happens to each code read.
// ES modules, no build step; see camera.js, wedge.js, answer.js, offline.js and search.js.

import {
  $,
  STORE,
  api,
  load,
  localized,
  newNonce,
  problemDetail,
  save,
  setOnline,
  showEnrol,
  showNotice,
  showRefusal,
  state,
  t,
  tokenRefused,
} from "./core.js";
import { hideAnswer, showAnswer, unlockAudio } from "./answer.js";
import { startCamera, stopCamera } from "./camera.js";
import { flush, queueOffline, refreshBadgeKeys, updatePending, wireOffline } from "./offline.js";
import { wireSearch } from "./search.js";
import { focusWedge, wireWedge } from "./wedge.js";

const TOKEN_RE = /^[A-Z2-7]{122}$/;
const SAME_TOKEN_MS = 3000; // a badge still in view is not scanned again
const last = { token: "", at: 0 };
let busy = false;

// --- enrolment ------------------------------------------------------------------------------

function takeTokenFromHash() {
  const match = /^#token=(.+)$/.exec(location.hash);
  if (!match) return;
  save(STORE.token, decodeURIComponent(match[1]));
  // The token must not stay in the address bar, history or bookmarks.
  history.replaceState(null, "", location.pathname + location.search);
}

function onEnrolSubmit(event) {
  event.preventDefault();
  const value = $("enrol-token").value.trim();
  const match = /#token=(.+)$/.exec(value); // the whole enrolment link works too
  save(STORE.token, match ? decodeURIComponent(match[1]) : value);
  $("enrol-token").value = "";
  start();
}

function forget() {
  if (!confirm(t("scanner.forget_confirm"))) return;
  for (const key of [STORE.token, STORE.device, STORE.lists]) localStorage.removeItem(key);
  state.token = null;
  stopCamera();
  showEnrol();
}

// --- start: who am I, which lists -----------------------------------------------------------

async function start() {
  state.token = load(STORE.token, null);
  if (!state.token) return showEnrol();
  const device = await fetchOrCached("devices/me", STORE.device);
  if (device === null) return;
  state.device = device;
  const lists = await fetchOrCached(`events/${device.event_id}/lists`, STORE.lists);
  if (lists === null) return;
  showDoor(lists);
  refreshBadgeKeys();
  startCamera(onCode);
  flush();
}

// The API's answer, or (network down while the page reloads) the last one kept.
async function fetchOrCached(path, key) {
  let response;
  try {
    response = await api(path);
  } catch {
    setOnline(false);
    const cached = load(key, null);
    if (cached === null) showEnrol(t("scanner.network_error"));
    return cached;
  }
  if (response.status === 401 || response.status === 404) {
    tokenRefused();
    return null;
  }
  if (!response.ok) {
    showEnrol(t("scanner.server_error", { detail: await problemDetail(response) }));
    return null;
  }
  const value = await response.json();
  save(key, value);
  return value;
}

function showDoor(lists) {
  $("enrol").hidden = true;
  $("door").hidden = false;
  $("device-name").textContent = t("scanner.device", {
    name: state.device.name,
    gate: state.device.gate,
  });
  fillLists(lists);
  state.direction = load(STORE.direction, "entry") === "exit" ? "exit" : "entry";
  for (const radio of document.querySelectorAll("input[name=direction]")) {
    radio.checked = radio.value === state.direction;
  }
  updatePending();
  setOnline(navigator.onLine);
  focusWedge();
}

function fillLists(lists) {
  const select = $("list");
  select.length = 1; // keep the "choose" option
  for (const list of lists) select.add(new Option(localized(list, "name"), String(list.id)));
  const pick = rememberedList(lists) ?? todaysList(lists);
  select.value = pick ? String(pick.id) : "";
  setList(select.value);
}

// The list chosen before, unless it is a day list of another day.
function rememberedList(lists) {
  const id = load(STORE.list + state.device.event_id, null);
  const list = lists.find((l) => l.id === id);
  return list && (!list.day || list.day === today()) ? list : null;
}

// Today's list for everyone, when there is exactly one; else the staff choose.
function todaysList(lists) {
  const todays = lists.filter((list) => list.day === today() && !list.categories);
  return todays.length === 1 ? todays[0] : null;
}

function today() {
  return new Date().toLocaleDateString("en-CA"); // YYYY-MM-DD in the device's time zone
}

function setList(value) {
  state.listId = value ? Number(value) : null;
  if (state.listId) save(STORE.list + state.device.event_id, state.listId);
  showNotice(state.listId ? "" : t("scanner.no_list"));
}

// --- scanning -------------------------------------------------------------------------------

function onCode(raw, { fromWedge = false } = {}) {
  const token = String(raw).trim().toUpperCase();
  const now = Date.now();
  if (token === last.token && now - last.at < SAME_TOKEN_MS) {
    last.at = now;
    return;
  }
  if (busy && !fromWedge) return;
  // Before the debounce: a badge held up while the list is being chosen must still scan.
  if (!state.listId) return showNotice(t("scanner.no_list"));
  Object.assign(last, { token, at: now });
  if (!TOKEN_RE.test(token)) {
    return showAnswer({ status: "invalid", light: "red", reason: "malformed" });
  }
  return submitScan(token);
}

async function submitScan(token) {
  const scan = {
    token,
    list_id: state.listId,
    gate: state.device.gate,
    direction: state.direction,
    nonce: newNonce(),
  };
  busy = true;
  try {
    if (!navigator.onLine) throw new TypeError("offline");
    const response = await api("scans", { method: "POST", body: scan });
    if (response.ok) {
      showAnswer(await response.json());
      flush();
    } else if (response.status >= 500) {
      await queueOffline(scan); // the server or its proxy is down: same as no network
    } else {
      await showRefusal(response);
    }
  } catch {
    setOnline(false);
    await queueOffline(scan);
  } finally {
    busy = false;
  }
}

// --- wiring ---------------------------------------------------------------------------------

function selectTab(name) {
  const scan = name === "scan";
  $("tab-scan").setAttribute("aria-selected", String(scan));
  $("tab-search").setAttribute("aria-selected", String(!scan));
  $("panel-scan").hidden = !scan;
  $("panel-search").hidden = scan;
  if (scan) focusWedge();
  else $("search-q").focus();
}

function onDirection(event) {
  state.direction = event.target.value;
  save(STORE.direction, state.direction);
}

function wire() {
  $("enrol-form").addEventListener("submit", onEnrolSubmit);
  $("forget").addEventListener("click", forget);
  $("list").addEventListener("change", (event) => setList(event.target.value));
  for (const radio of document.querySelectorAll("input[name=direction]")) {
    radio.addEventListener("change", onDirection);
  }
  $("tab-scan").addEventListener("click", () => selectTab("scan"));
  $("tab-search").addEventListener("click", () => selectTab("search"));
  $("camera-start").addEventListener("click", () => startCamera(onCode));
  $("answer").addEventListener("click", hideAnswer);
  document.addEventListener("pointerdown", unlockAudio, { once: true });
  document.addEventListener("keydown", unlockAudio, { once: true });
  wireWedge(onCode);
  wireSearch();
  wireOffline();
}

takeTokenFromHash();
wire();
start();
