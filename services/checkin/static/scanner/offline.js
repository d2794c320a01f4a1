// Scans made without a network: kept in localStorage with their nonces, sent when it returns.
// Each is checked at once against the cached public badge keys (Ed25519 in WebCrypto).

import { $, STORE, api, load, save, setOnline, state, t } from "./core.js";
import { confirmRecent, showAnswer } from "./answer.js";

const FLUSH_MS = 5000;
let flushing = false;

export function wireOffline() {
  window.addEventListener("online", () => {
    setOnline(true);
    flush();
  });
  window.addEventListener("offline", () => setOnline(false));
  setInterval(flush, FLUSH_MS);
}

export async function queueOffline(scan) {
  const item = { ...scan, scanned_at: new Date().toISOString(), offline: true };
  save(STORE.queue, [...load(STORE.queue, []), item]);
  updatePending();
  const { verdict, badgeId } = await verifyLocally(scan.token);
  if (verdict === "invalid") {
    showAnswer({ status: "invalid", light: "red", reason: "bad_signature", nonce: scan.nonce });
  } else {
    showAnswer({ status: "queued", light: "amber", nonce: scan.nonce, badge_number: badgeId });
  }
}

export function updatePending() {
  const count = load(STORE.queue, []).length;
  $("pending").hidden = count === 0;
  $("pending").textContent = t("scanner.pending", { count });
}

// Sends queued scans oldest first with their original nonces, so a scan the server already
// recorded (a reply lost on the way back) is answered from its record, not counted twice.
export async function flush() {
  if (flushing || !state.token || !navigator.onLine) return;
  flushing = true;
  try {
    for (;;) {
      const [item] = load(STORE.queue, []);
      if (!item || !(await sendQueued(item))) break;
    }
  } finally {
    flushing = false;
    updatePending();
  }
}

async function sendQueued(item) {
  let response;
  try {
    response = await api("scans", { method: "POST", body: item });
  } catch {
    setOnline(false);
    return false;
  }
  if (response.status >= 500 || response.status === 401 || response.status === 429) return false;
  // Anything else is final (an answer, or a refusal that retrying cannot change).
  save(STORE.queue, load(STORE.queue, []).filter((queued) => queued.nonce !== item.nonce));
  if (response.ok) confirmRecent(item.nonce, await response.json());
  return true;
}

export async function refreshBadgeKeys() {
  try {
    const response = await api("badge-keys");
    if (response.ok) save(STORE.keys, await response.json());
  } catch {
    // keep the cached keys
  }
}

// The verdict is "invalid" only when sure (not canonical, wrong version or event, bad
// signature); "unknown" when it cannot tell (no cached key, no Ed25519 in WebCrypto here).
async function verifyLocally(token) {
  const { bytes, spare } = base32(token);
  if (bytes.length !== 76 || spare !== 0) return { verdict: "invalid" };
  const header = bytes.slice(0, 12); // version, key id, event id, badge id, generation
  const view = new DataView(header.buffer);
  const badgeId = view.getUint32(6);
  if (view.getUint8(0) !== 1 || view.getUint32(2) !== state.device.event_id) {
    return { verdict: "invalid", badgeId };
  }
  const entry = load(STORE.keys, []).find((key) => key.kid === view.getUint8(1));
  try {
    if (!entry || !crypto.subtle) return { verdict: "unknown", badgeId };
    const raw = fromBase64Url(entry.public_key);
    const key = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
    const good = await crypto.subtle.verify({ name: "Ed25519" }, key, bytes.slice(12), header);
    return { verdict: good ? "valid" : "invalid", badgeId };
  } catch {
    return { verdict: "unknown", badgeId };
  }
}

function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const bytes = [];
  let bits = 0;
  let value = 0;
  for (const ch of text) {
    value = ((value << 5) | alphabet.indexOf(ch)) & 0xfff; // 12 bits hold any carry
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >> bits) & 0xff);
    }
  }
  return { bytes: new Uint8Array(bytes), spare: value & ((1 << bits) - 1) };
}

function fromBase64Url(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const padded = b64 + "=".repeat((4 - (b64.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}
