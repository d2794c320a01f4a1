// Manual search (name, Arabic-aware; phone; e-mail; agency code) and check-in by badge id.

import {
  $,
  api,
  element,
  localized,
  newNonce,
  problemDetail,
  setOnline,
  showNotice,
  showRefusal,
  state,
  t,
} from "./core.js";
import { paintBand, showAnswer } from "./answer.js";

export function wireSearch() {
  $("search-form").addEventListener("submit", onSearch);
}

async function onSearch(event) {
  event.preventDefault();
  const q = $("search-q").value.trim();
  if (!q) return;
  let response;
  try {
    // POSTed: a name, phone or e-mail in a URL would end up in access logs.
    response = await api(`events/${state.device.event_id}/search`, { method: "POST", body: { q } });
  } catch {
    setOnline(false);
    return showNotice(t("scanner.network_error"));
  }
  if ([422, 429].includes(response.status)) return showQueryRefused(await problemDetail(response));
  if (!response.ok) return showRefusal(response);
  showNotice(state.listId ? "" : t("scanner.no_list"));
  renderResults(await response.json());
}

// A query the server will not search (too short, part of a phone or e-mail, too many) says why, in place
// of earlier results and of "no delegate found".
function showQueryRefused(message) {
  $("results").replaceChildren();
  $("search-empty").hidden = true;
  showNotice(message);
}

function renderResults(found) {
  $("results").replaceChildren(...found.map(resultItem));
  $("search-empty").hidden = found.length > 0;
}

function resultItem(entry) {
  const item = element("li");
  const names = element("div", "names");
  names.append(nameSpan(entry.full_name_ar, "ar"), " ", nameSpan(entry.full_name_en, "en"));
  const agency = element("div", "", `${localized(entry, "agency_name")} (${entry.agency_code})`);
  agency.dir = "auto";
  const category = element("span", "band", localized(entry, "category_name"));
  paintBand(category, entry.category_color);
  item.append(names, agency, category);
  if (entry.status !== "active") {
    item.append(" ", element("strong", "", t(`status.${entry.status}`)));
  }
  const button = element("button", "", t("scanner.check_in"));
  button.type = "button";
  button.addEventListener("click", () => manualCheckin(entry.id));
  item.append(element("br"), button);
  return item;
}

function nameSpan(name, lang) {
  const span = element("span", "", name || "");
  span.lang = lang;
  span.dir = lang === "ar" ? "rtl" : "ltr";
  return span;
}

async function manualCheckin(badgeId) {
  if (!state.listId) return showNotice(t("scanner.no_list"));
  const body = {
    badge_id: badgeId,
    list_id: state.listId,
    gate: state.device.gate,
    nonce: newNonce(),
  };
  let response;
  try {
    response = await api("checkins", { method: "POST", body });
  } catch {
    setOnline(false);
    return showNotice(t("scanner.network_error"));
  }
  if (!response.ok) return showRefusal(response);
  showAnswer(await response.json());
}
