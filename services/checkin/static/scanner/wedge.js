// Hand scanners (USB or Bluetooth "keyboard wedge"): they type the token, then Enter.

import { $ } from "./core.js";

const TOKEN_RE = /^[A-Z2-7]{122}$/;
let codes = "";
let submit = () => {};

export function wireWedge(onCode) {
  submit = onCode;
  $("wedge").addEventListener("keydown", onWedgeKey);
  document.addEventListener("keydown", onDocumentKey);
}

// A scanner types as a US keyboard; with an Arabic layout active the characters come out
// Arabic, so the physical key codes are kept too and used when the text is no token.
function codeChar(code) {
  const match = /^(?:Key([A-Z])|(?:Digit|Numpad)([0-9]))$/.exec(code || "");
  return match ? match[1] || match[2] : "";
}

function onWedgeKey(event) {
  if (event.key === "Enter") {
    event.preventDefault();
    submitWedge();
    return;
  }
  codes += codeChar(event.code);
}

function submitWedge() {
  const wedge = $("wedge");
  const typed = wedge.value;
  const fromCodes = codes;
  wedge.value = "";
  codes = "";
  const text = TOKEN_RE.test(typed.trim().toUpperCase()) || !fromCodes ? typed : fromCodes;
  if (text.trim()) submit(text, { fromWedge: true });
}

function isEditable(node) {
  return node && (/^(INPUT|SELECT|TEXTAREA)$/.test(node.tagName) || node.isContentEditable);
}

// Keys typed while nothing editable has focus (e.g. after a tap elsewhere) still reach it.
function onDocumentKey(event) {
  if ($("door").hidden || $("panel-scan").hidden || isEditable(document.activeElement)) return;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key.length !== 1 && event.key !== "Enter") return;
  event.preventDefault();
  focusWedge();
  if (event.key === "Enter") return submitWedge();
  $("wedge").value += event.key;
  codes += codeChar(event.code);
}

export function focusWedge() {
  // Only where a keyboard is likely: on a phone the focus would pop up the soft keyboard.
  const scanning = !$("door").hidden && !$("panel-scan").hidden;
  if (scanning && matchMedia("(pointer: fine)").matches) {
    $("wedge").focus({ preventScroll: true });
  }
}
