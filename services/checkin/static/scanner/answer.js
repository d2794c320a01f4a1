// The door's answer: a full-screen colour with name, agency and category, a beep, a log line.

import { $, LANG, TEXT, element, localized, t } from "./core.js";
import { focusWedge } from "./wedge.js";

const SHOW_MS = { green: 1000, amber: 1800, red: 1800 };
const RECENT_MAX = 8;
const TONES = {
  green: [[880, 0, 0.12]],
  amber: [
    [660, 0, 0.12],
    [660, 0.2, 0.12],
  ],
  red: [[220, 0, 0.5]],
};
let hideTimer = 0;
let audio = null;

// `answer` is the API's scan answer, or a local one: status "queued" (kept offline) or
// "invalid" (not a badge, or a forgery caught offline).
export function showAnswer(answer) {
  const overlay = $("answer");
  const badge = answer.badge || {};
  overlay.className = `answer light-${answer.light}`;
  $("answer-status").textContent = statusText(answer);
  $("answer-name-ar").textContent = badge.full_name_ar || "";
  $("answer-name-en").textContent = badge.full_name_en || "";
  $("answer-agency").textContent = answer.badge ? localized(badge, "agency_name") : "";
  const category = $("answer-category");
  category.textContent = answer.badge ? localized(badge, "category_name") : "";
  paintBand(category, badge.category_color);
  $("answer-detail").textContent = detailText(answer);
  overlay.hidden = false;
  beep(answer.light);
  clearTimeout(hideTimer);
  hideTimer = setTimeout(hideAnswer, SHOW_MS[answer.light] || 1000);
  remember(answer);
}

export function hideAnswer() {
  $("answer").hidden = true;
  focusWedge();
}

function statusText(answer) {
  if (answer.status === "queued") return t("scanner.offline_recorded");
  if (answer.status === "ok" && answer.direction === "exit") return t("scanner.goodbye");
  return t(`status.${answer.status}`);
}

function detailText(answer) {
  if (answer.first_checkin) {
    const time = new Date(answer.first_checkin.at).toLocaleTimeString(locale(), {
      hour: "2-digit",
      minute: "2-digit",
    });
    return t("scanner.first_checkin", { time, gate: answer.first_checkin.gate });
  }
  const reason = answer.reason && TEXT[`scanner.reason.${answer.reason}`];
  if (reason) return reason;
  if (answer.badge_number) return t("scanner.badge_number", { id: answer.badge_number });
  return answer.offline && answer.status !== "queued" ? t("scanner.confirmed_later") : "";
}

function locale() {
  return LANG === "ar" ? "ar-IQ" : "en-GB";
}

export function paintBand(node, colour) {
  const valid = /^#[0-9a-fA-F]{6}$/.test(colour || "");
  node.style.backgroundColor = valid ? colour : "";
  node.style.color = valid ? (isLight(colour) ? "#111" : "#fff") : "";
}

function isLight(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return r * 0.299 + g * 0.587 + b * 0.114 > 160;
}

// --- the recent-scans log; a queued scan's line is updated when the server answers ---------

function remember(answer) {
  const item = element("li");
  if (answer.nonce) item.dataset.nonce = answer.nonce;
  fillRecent(item, answer);
  const list = $("recent");
  list.prepend(item);
  while (list.children.length > RECENT_MAX) list.lastChild.remove();
}

export function confirmRecent(nonce, answer) {
  const item = document.querySelector(`#recent li[data-nonce="${CSS.escape(nonce)}"]`);
  if (item) fillRecent(item, answer);
}

function fillRecent(item, answer) {
  const time = element("time", "", new Date().toLocaleTimeString(locale()));
  const name = localized(answer.badge || {}, "full_name");
  item.className = `light-${answer.light}`;
  item.replaceChildren(time, statusText(answer), name ? ` — ${name}` : "");
  const detail = detailText(answer);
  if (detail) item.append(` (${detail})`);
}

// --- sound (WebAudio tones, no files) -------------------------------------------------------

function beep(light) {
  try {
    audio ??= new AudioContext();
    for (const [frequency, at, length] of TONES[light] || []) {
      tone(light, frequency, audio.currentTime + at, length);
    }
  } catch {
    // No audio (autoplay policy or no device): the colours still tell.
  }
}

function tone(light, frequency, start, length) {
  const oscillator = audio.createOscillator();
  const gain = audio.createGain();
  oscillator.type = light === "red" ? "square" : "sine";
  oscillator.frequency.value = frequency;
  gain.gain.setValueAtTime(0.25, start);
  gain.gain.exponentialRampToValueAtTime(0.001, start + length);
  oscillator.connect(gain).connect(audio.destination);
  oscillator.start(start);
  oscillator.stop(start + length + 0.02);
}

// Browsers start audio only after a user gesture; the first tap or key unlocks it.
export function unlockAudio() {
  try {
    audio ??= new AudioContext();
    if (audio.state === "suspended") audio.resume();
  } catch {
    // no audio on this device
  }
}
