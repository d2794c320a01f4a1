// Hudoor attendance dashboard: three charts (vendored Chart.js) kept live from the JSON API.
// No inline script: settings and texts come in a JSON data block rendered by the page.

"use strict";

(function () {
  const settings = JSON.parse(document.getElementById("dashboard-settings").textContent);
  const lang = document.getElementById("dashboard").dataset.lang;
  const rtl = lang === "ar";
  const REFRESH_MS = 15000;
  const t = (code) => settings.texts[code] || code;
  const named = (item) => (rtl ? item.name_ar || item.name_en : item.name_en || item.name_ar);
  const percent = (rate) => (rate === null ? "—" : `${(rate * 100).toFixed(1)}%`);
  const clock = new Intl.DateTimeFormat(rtl ? "ar-IQ" : "en-GB", {
    hour: "2-digit", minute: "2-digit", hour12: false, timeZone: settings.timezone,
  });
  let refreshes = 0;

  async function get(path) {
    const response = await fetch(settings.api + path, {
      credentials: "same-origin", headers: { Accept: "application/json" },
    });
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
    return response.json();
  }

  function options(horizontal) {
    const value = horizontal ? "x" : "y";
    return {
      maintainAspectRatio: false,
      animation: false,
      indexAxis: horizontal ? "y" : "x",
      locale: rtl ? "ar-IQ" : "en-GB",
      plugins: { legend: { rtl, position: "top" }, tooltip: { rtl } },
      scales: {
        [value]: { beginAtZero: true, ticks: { precision: 0 }, reverse: horizontal && rtl },
        [horizontal ? "y" : "x"]: { position: horizontal && rtl ? "right" : undefined,
                                    reverse: !horizontal && rtl },
      },
    };
  }

  function chart(id, type, datasets, horizontal) {
    return new window.Chart(document.getElementById(id), {
      type, data: { labels: [], datasets }, options: options(horizontal),
    });
  }

  const charts = {
    registrations: chart("chart-registrations", "bar", [
      { label: t("report.registered"), data: [], backgroundColor: "#0b6e4f" },
      { label: t("report.quota"), data: [], backgroundColor: "#d1d9e0" },
    ], true),
    attendance: chart("chart-attendance", "bar", [
      { label: t("report.attended"), data: [], backgroundColor: "#1f6feb" },
      { label: t("report.no_shows"), data: [], backgroundColor: "#f0b400" },
    ], true),
    arrivals: chart("chart-arrivals", "bar", [
      { label: t("dashboard.arrivals_per"), data: [], backgroundColor: "#8250df" },
      { label: t("dashboard.cumulative"), data: [], type: "line", borderColor: "#0b6e4f" },
    ], false),
  };

  function fitHeight(chartItem, count) {
    chartItem.canvas.parentNode.style.height = `${Math.max(240, 26 * count + 80)}px`;
  }

  function showReport(report) {
    const rows = report.rows;
    const labels = rows.map((row) => `${row.agency.code} · ${named(row.agency)}`);
    const set = (item, values) => {
      item.data.labels = labels;
      values.forEach((data, index) => { item.data.datasets[index].data = data; });
      fitHeight(item, rows.length);
      item.update();
    };
    set(charts.registrations, [rows.map((r) => r.registered), rows.map((r) => r.quota)]);
    set(charts.attendance, [rows.map((r) => r.attended), rows.map((r) => r.no_shows)]);
    const totals = report.totals;
    document.getElementById("tile-registered").textContent = totals.registered;
    document.getElementById("tile-attended").textContent = totals.attended;
    document.getElementById("tile-rate").textContent = percent(totals.attendance_rate);
    document.getElementById("tile-no-shows").textContent = totals.no_shows;
  }

  function showArrivals(series) {
    const item = charts.arrivals;
    item.data.labels = series.map((bucket) => bucket.at.slice(11, 16));
    item.data.datasets[0].data = series.map((bucket) => bucket.arrivals);
    item.data.datasets[1].data = series.map((bucket) => bucket.cumulative);
    item.update();
  }

  async function refresh() {
    const day = document.getElementById("day").value;
    try {
      const [report, series, inside] = await Promise.all([
        get("attendance?by=agency"),
        get(`arrivals?day=${encodeURIComponent(day)}&minutes=15`),
        get("inside/count"),
      ]);
      showReport(report);
      showArrivals(series);
      document.getElementById("tile-inside").textContent = inside.inside;
      const time = clock.format(new Date());
      document.getElementById("updated").textContent = t("dashboard.updated").replace("{time}", time);
      refreshes += 1;
      document.body.dataset.refreshes = String(refreshes);
    } catch (error) {
      document.getElementById("updated").textContent = String(error.message);
    }
  }

  document.getElementById("day").addEventListener("change", refresh);
  refresh();
  window.setInterval(refresh, REFRESH_MS);
})();
