// The disclosure page: reads /api/public/{kind} (no token) and shows the items as a table.
(function () {
  "use strict";
  const PAGE = 50;
  let kind = "catalogues";
  let offset = 0;
  const $ = (id) => document.getElementById(id);

  function cell(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  function table(items) {
    const cols = [];
    items.forEach((it) => Object.keys(it).forEach((k) => { if (!cols.includes(k)) cols.push(k); }));
    const t = document.createElement("table");
    const head = t.createTHead().insertRow();
    cols.forEach((c) => { const th = document.createElement("th"); th.textContent = c; head.appendChild(th); });
    const body = t.createTBody();
    items.forEach((it) => {
      const row = body.insertRow();
      cols.forEach((c) => { row.insertCell().textContent = cell(it[c]); });
    });
    return t;
  }

  async function load() {
    document.querySelectorAll("#kinds button").forEach((b) =>
      b.setAttribute("aria-pressed", String(b.dataset.kind === kind)));
    const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
    new FormData($("filter")).forEach((v, k) => { if (v) params.set(k, String(v)); });
    const status = $("status");
    status.className = "";
    status.textContent = "加载中 Loading…";
    $("result").replaceChildren();
    $("pager").replaceChildren();
    let resp;
    try {
      resp = await fetch(`/api/public/${kind}?${params}`, { headers: { Accept: "application/json" } });
    } catch (e) {
      status.className = "error";
      status.textContent = `网络错误 Network error: ${e}`;
      return;
    }
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      status.className = "error";
      status.textContent = resp.status === 503
        ? `暂未开放 Not available yet (${body.service || ""}): ${body.detail || ""}`
        : `${resp.status}: ${body.detail || body.title || "error"}`;
      return;
    }
    const items = Array.isArray(body) ? body : (body.items || []);
    const total = typeof body.total === "number" ? body.total : items.length;
    status.textContent = `共 ${total} 条 · ${total} records`;
    if (items.length) $("result").appendChild(table(items));
    const pager = $("pager");
    if (offset > 0) {
      const prev = document.createElement("button");
      prev.textContent = "上一页 Previous";
      prev.onclick = () => { offset = Math.max(0, offset - PAGE); load(); };
      pager.appendChild(prev);
    }
    if (offset + items.length < total) {
      const next = document.createElement("button");
      next.textContent = "下一页 Next";
      next.onclick = () => { offset += PAGE; load(); };
      pager.appendChild(next);
    }
  }

  document.querySelectorAll("#kinds button").forEach((b) =>
    b.addEventListener("click", () => { kind = b.dataset.kind; offset = 0; load(); }));
  $("filter").addEventListener("submit", (e) => { e.preventDefault(); offset = 0; load(); });
  load();
})();
