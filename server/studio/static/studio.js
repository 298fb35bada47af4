// ftds studio: a small vanilla JS single-page app over the studio's JSON API (no framework, no build step).
"use strict";

const S = window.STUDIO_STRINGS;
const state = {
  lang: localStorage.getItem("ftds.lang") || "en",
  reviewer: localStorage.getItem("ftds.reviewer") || "",
  dataset: null,        // DatasetInfo of the open dataset
  facets: null,
  filter: {},
  sort: "position", desc: false, offset: 0, limit: 50,
  page: null, selected: -1, detail: null, editing: false,
  liveTimer: null,
  ticket: 0,            // bumped on every navigation: a page whose data arrives late does not draw over another
};

// --- helpers ---------------------------------------------------------------------------------------------
function t(key) { return (S[state.lang] && S[state.lang][key]) || S.en[key] || key; }
function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
function $(sel, root) { return (root || document).querySelector(sel); }
function $$(sel, root) { return Array.from((root || document).querySelectorAll(sel)); }
function toast(message, error) {
  const div = document.createElement("div");
  div.textContent = message;
  if (error) div.className = "error";
  $("#toast").appendChild(div);
  setTimeout(() => div.remove(), error ? 7000 : 2500);
}
async function api(method, path, body) {
  const headers = { "X-Studio": "1", "X-Reviewer": encodeURIComponent(state.reviewer) };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) {
    const error = new Error(data.error || response.statusText);
    error.status = response.status;
    throw error;
  }
  return data;
}
async function guarded(work) {
  try { return await work(); } catch (error) { toast(error.message, true); return undefined; }
}
function needReviewer() {
  if (state.reviewer.trim()) return false;
  toast(t("needName"), true);
  $("#reviewer").focus();
  return true;
}
function applyI18n(root) {
  $$("[data-i18n]", root).forEach((el) => { el.textContent = t(el.dataset.i18n); });
  $$("[data-i18n-placeholder]", root).forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
}
function qs(params) {
  const out = new URLSearchParams();
  Object.entries(params).forEach(([k, v]) => { if (v !== undefined && v !== null && v !== "") out.set(k, v); });
  return out.toString();
}

// --- routing -----------------------------------------------------------------------------------------------
function stale(ticket) { return ticket !== state.ticket; }
function route() {
  state.ticket += 1;
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  clearInterval(state.liveTimer);
  if (parts[0] === "d" && parts[1]) {
    openDataset(Number(parts[1]), parts[2] || "review");
  } else {
    state.dataset = null;
    renderNav("datasets");
    showDatasets();
  }
}
function renderNav(page) {
  $$("#nav a").forEach((a) => {
    const p = a.dataset.page;
    a.classList.toggle("active", p === page);
    a.classList.toggle("disabled", p !== "datasets" && !state.dataset);
    if (p !== "datasets" && state.dataset) a.href = `#/d/${state.dataset.id}/${p}`;
  });
  $("#dataset-name").textContent = state.dataset ? `${state.dataset.name} · v${state.dataset.version}` : "";
}
async function openDataset(id, page) {
  const ticket = state.ticket;
  const info = await guarded(() => api("GET", `/api/datasets/${id}`));
  if (!info || stale(ticket)) return;
  if (!state.dataset || state.dataset.id !== id) {
    Object.assign(state, { filter: {}, offset: 0, selected: -1, detail: null, sort: "position", desc: false });
  }
  state.dataset = info;
  renderNav(page);
  if (info.status === "live") state.liveTimer = setInterval(syncLive, 5000);
  ({ review: showReview, labels: showLabels, team: showTeam, export: showExport }[page] || showReview)();
}
async function syncLive() {
  if (!state.dataset) return;
  const result = await api("POST", `/api/datasets/${state.dataset.id}/sync`, {}).catch(() => null);
  if (result && (result.added || result.updated)) {
    state.dataset = result.dataset;
    if (location.hash.endsWith("/review") || location.hash.split("/").length === 3) loadPage();
  }
}

// --- datasets page ------------------------------------------------------------------------------------------
async function showDatasets() {
  const view = $("#view");
  view.innerHTML = `
    <section class="card"><h2 data-i18n="datasets"></h2><div id="dataset-list"></div></section>
    <section class="card"><h2 data-i18n="importTitle"></h2>
      <form class="inline" id="import-form">
        <input id="import-path" size="48" data-i18n-placeholder="path" required>
        <input id="import-name" size="16" data-i18n-placeholder="importName">
        <input id="import-map" size="36" data-i18n-placeholder="mapping">
        <input id="import-docs" size="36" data-i18n-placeholder="documents">
        <button class="primary" data-i18n="import"></button>
      </form></section>`;
  applyI18n(view);
  $("#import-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const mapping = {};
    $("#import-map").value.split(",").map((p) => p.trim()).filter(Boolean).forEach((pair) => {
      const [target, source] = pair.split("=").map((s) => s.trim());
      if (target && source) mapping[target] = source;
    });
    const result = await guarded(() => api("POST", "/api/datasets/import", {
      path: $("#import-path").value.trim(), name: $("#import-name").value.trim() || null, mapping,
      documents: $("#import-docs").value.split(",").map((p) => p.trim()).filter(Boolean),
    }));
    if (result) {
      toast(`${result.dataset.name}: ${result.added} ${t("samplesWord")}` + (result.errors.length ? ` (${result.errors.length} ✗)` : ""));
      result.errors.slice(0, 3).forEach((e) => toast(e, true));
      listDatasets();
    }
  });
  listDatasets();
}
async function listDatasets() {
  const ticket = state.ticket;
  const items = await guarded(() => api("GET", "/api/datasets"));
  const box = $("#dataset-list");
  if (!items || stale(ticket) || !box) return;
  if (!items.length) { box.innerHTML = `<p class="muted">${esc(t("noDatasets"))}</p>`; return; }
  box.innerHTML = `<table id="datasets-table"><thead><tr>
    <th>${esc(t("name"))}</th><th>${esc(t("task"))}</th><th>${esc(t("format"))}</th><th>${esc(t("status"))}</th>
    <th>${esc(t("samples"))}</th><th>${esc(t("accepted"))}</th><th>${esc(t("rejected"))}</th><th>${esc(t("reviewed"))}</th>
    <th>${esc(t("labels"))}</th><th>${esc(t("version"))}</th><th></th></tr></thead><tbody>${items.map((d) => `
    <tr data-id="${d.id}"><td><a href="#/d/${d.id}/review">${esc(d.name)}</a><div class="muted">${esc(d.source)}</div></td>
      <td>${esc(d.task)}</td><td>${esc(d.format)}</td><td>${d.status === "live" ? `<span class="live">live</span>` : esc(d.status)}</td>
      <td>${d.counts.total}</td><td>${d.counts.accept}</td><td>${d.counts.reject}</td><td>${d.counts.reviewed}</td>
      <td>${d.labels}</td><td>${d.version}${(d.meta.exports || []).length ? `<div class="muted">${esc(t("exported"))}: ${(d.meta.exports || []).map((e) => `v${e.version} ${esc(e.format)}`).slice(-3).join(", ")}</div>` : ""}</td>
      <td><a href="#/d/${d.id}/review"><button type="button">${esc(t("open"))}</button></a>
        <button type="button" class="sync" data-id="${d.id}">${esc(t("sync"))}</button></td></tr>`).join("")}</tbody></table>`;
  $$("button.sync", box).forEach((b) => b.addEventListener("click", async () => {
    const result = await guarded(() => api("POST", `/api/datasets/${b.dataset.id}/sync`, {}));
    if (result) { toast(`+${result.added} / ${result.updated}`); listDatasets(); }
  }));
}

// --- review page --------------------------------------------------------------------------------------------
async function showReview() {
  const view = $("#view");
  const ticket = state.ticket;
  state.facets = await guarded(() => api("GET", `/api/datasets/${state.dataset.id}/facets`)) || { labels: [], sources: [], reviewers: [], checks: [], splits: [] };
  if (stale(ticket)) return;
  const f = state.facets;
  const options = (values, selected) => values.map((v) => `<option value="${esc(v)}" ${v === selected ? "selected" : ""}>${esc(v)}</option>`).join("");
  view.innerHTML = `<div class="review">
    <div class="left">
      <div class="filters" id="filters">
        <select id="f-label" title="${esc(t("filterLabel"))}"><option value="*">${esc(t("filterLabel"))}: ${esc(t("any"))}</option>
          <option value="">${esc(t("unlabelled"))}</option>${options(f.labels, state.filter.label)}</select>
        <select id="f-decision"><option value="">${esc(t("decision"))}: ${esc(t("any"))}</option>
          <option value="accept">${esc(t("accept"))}</option><option value="reject">${esc(t("reject"))}</option></select>
        <input id="f-min" type="number" step="0.05" min="0" max="1" placeholder="${esc(t("minScore"))}" title="${esc(t("minScore"))}">
        <input id="f-max" type="number" step="0.05" min="0" max="1" placeholder="${esc(t("maxScore"))}" title="${esc(t("maxScore"))}">
        <select id="f-check"><option value="">${esc(t("failedCheck"))}: —</option><option value="*">${esc(t("anyFailed"))}</option>${options(f.checks)}</select>
        <select id="f-source"><option value="">${esc(t("source"))}: ${esc(t("any"))}</option>${options(f.sources)}</select>
        <select id="f-reviewer"><option value="*">${esc(t("reviewer"))}: ${esc(t("any"))}</option><option value="">—</option>${options(f.reviewers)}</select>
        <select id="f-split"><option value="">${esc(t("split"))}: ${esc(t("any"))}</option>${options(f.splits)}</select>
        <label class="row-flex"><input type="checkbox" id="f-mine"> ${esc(t("assignedToMe"))}</label>
        <input id="f-q" type="search" placeholder="${esc(t("search"))}">
        <button id="f-clear" type="button">${esc(t("clear"))}</button>
      </div>
      <div class="bulk"><span class="muted">${esc(t("bulkTitle"))}</span>
        <button id="bulk-accept" type="button">${esc(t("bulkAccept"))}</button>
        <button id="bulk-reject" type="button">${esc(t("bulkReject"))}</button>
        <button id="bulk-relabel" type="button">${esc(t("relabel"))}</button>
        <button id="bulk-replace" type="button">${esc(t("replace"))}</button>
        ${state.dataset.status === "live" ? `<span class="live">● ${esc(t("live"))}</span>` : ""}
      </div>
      <div class="table-wrap"><table id="samples"><thead><tr>
        <th class="sortable" data-sort="position">#</th><th>${esc(t("question"))}</th>
        <th class="sortable" data-sort="label">${esc(t("label"))}</th><th class="sortable" data-sort="decision">${esc(t("decision"))}</th>
        <th class="sortable" data-sort="score">${esc(t("score"))}</th><th>${esc(t("checks"))}</th><th>${esc(t("reviewer"))}</th>
      </tr></thead><tbody></tbody></table></div>
      <div class="pager"><button id="prev" type="button">${esc(t("previous"))}</button><span id="page-info"></span>
        <button id="next" type="button">${esc(t("next"))}</button></div>
    </div>
    <div class="right" id="sample-view"><p class="muted">${esc(t("selectSample"))}</p><p class="keys">${esc(t("keys"))}</p></div>
  </div>`;
  const fl = state.filter;
  $("#f-label").value = fl.label ?? "*";
  $("#f-decision").value = fl.decision || "";
  $("#f-min").value = fl.min_score ?? ""; $("#f-max").value = fl.max_score ?? "";
  $("#f-check").value = fl.failed_check || ""; $("#f-source").value = fl.source || "";
  $("#f-reviewer").value = fl.reviewer ?? "*"; $("#f-split").value = fl.split || "";
  $("#f-mine").checked = Boolean(fl.assigned_to); $("#f-q").value = fl.q || "";
  const update = () => {
    state.filter = {
      label: $("#f-label").value === "*" ? undefined : $("#f-label").value,
      decision: $("#f-decision").value, min_score: $("#f-min").value, max_score: $("#f-max").value,
      failed_check: $("#f-check").value, source: $("#f-source").value,
      reviewer: $("#f-reviewer").value === "*" ? undefined : $("#f-reviewer").value,
      split: $("#f-split").value, assigned_to: $("#f-mine").checked ? state.reviewer : "", q: $("#f-q").value.trim(),
    };
    state.offset = 0; state.selected = -1;
    loadPage();
  };
  $$("#filters select, #filters input[type=number], #filters input[type=checkbox]").forEach((el) => el.addEventListener("change", update));
  let timer = null;
  $("#f-q").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(update, 250); });
  $("#f-clear").addEventListener("click", () => {
    ["#f-label", "#f-reviewer"].forEach((sel) => { $(sel).value = "*"; });
    ["#f-decision", "#f-min", "#f-max", "#f-check", "#f-source", "#f-split", "#f-q"].forEach((sel) => { $(sel).value = ""; });
    $("#f-mine").checked = false;
    update();
  });
  $$("#samples th.sortable").forEach((th) => th.addEventListener("click", () => {
    if (state.sort === th.dataset.sort) state.desc = !state.desc; else { state.sort = th.dataset.sort; state.desc = th.dataset.sort === "score"; }
    state.offset = 0; loadPage();
  }));
  $("#prev").addEventListener("click", () => { if (state.offset > 0) { state.offset = Math.max(0, state.offset - state.limit); state.selected = -1; loadPage(); } });
  $("#next").addEventListener("click", () => { if (state.page && state.offset + state.limit < state.page.total) { state.offset += state.limit; state.selected = -1; loadPage(); } });
  $("#bulk-accept").addEventListener("click", () => bulkDialog("decide-accept"));
  $("#bulk-reject").addEventListener("click", () => bulkDialog("decide-reject"));
  $("#bulk-relabel").addEventListener("click", () => bulkDialog("relabel"));
  $("#bulk-replace").addEventListener("click", () => bulkDialog("replace"));
  await loadPage();
}
function filterParams() {
  const f = state.filter;
  return {
    label: f.label === undefined ? "*" : f.label, decision: f.decision, min_score: f.min_score, max_score: f.max_score,
    failed_check: f.failed_check, source: f.source, reviewer: f.reviewer === undefined ? "*" : f.reviewer,
    split: f.split, assigned_to: f.assigned_to, q: f.q,
  };
}
function filterBody() {
  const f = state.filter;
  const out = {};
  if (f.label !== undefined) out.label = f.label;
  ["decision", "failed_check", "source", "split", "assigned_to"].forEach((k) => { if (f[k]) out[k] = f[k]; });
  if (f.reviewer !== undefined) out.reviewer = f.reviewer;
  if (f.min_score) out.min_score = Number(f.min_score);
  if (f.max_score) out.max_score = Number(f.max_score);
  if (f.q) out.query = f.q;
  return out;
}
async function loadPage(keepSelection) {
  const params = { ...filterParams(), sort: state.sort, desc: state.desc ? 1 : "", offset: state.offset, limit: state.limit };
  const ticket = state.ticket;
  const page = await guarded(() => api("GET", `/api/datasets/${state.dataset.id}/samples?${qs(params)}`));
  if (!page || stale(ticket)) return;
  state.page = page;
  const body = $("#samples tbody");
  if (!body) return;
  body.innerHTML = page.rows.length ? page.rows.map((r, i) => `
    <tr class="row" data-index="${i}" data-sample="${esc(r.sample_id)}">
      <td>${r.position + 1}</td><td class="q" title="${esc(r.question)}">${esc(r.question)}</td><td>${esc(r.label || "")}</td>
      <td><span class="badge ${esc(r.decision)}">${esc(t(r.decision))}</span></td>
      <td>${r.score == null ? "" : r.score.toFixed(2)}</td>
      <td>${r.failed_checks.map((c) => `<span class="badge fail">${esc(c)}</span>`).join(" ")}</td><td>${esc(r.reviewer)}</td></tr>`).join("")
    : `<tr><td colspan="7" class="muted">${esc(t("nothingMatches"))}</td></tr>`;
  $$("#samples tr.row").forEach((tr) => tr.addEventListener("click", () => select(Number(tr.dataset.index))));
  $$("#samples th.sortable").forEach((th) => { th.classList.toggle("sorted", th.dataset.sort === state.sort); th.classList.toggle("desc", state.desc); });
  const pages = Math.max(1, Math.ceil(page.total / state.limit));
  $("#page-info").textContent = state.lang === "zh"
    ? `${t("page")} ${Math.floor(state.offset / state.limit) + 1} ${t("of")} ${pages} 页 · ${page.total} ${t("matching")}`
    : `${t("page")} ${Math.floor(state.offset / state.limit) + 1} ${t("of")} ${pages} · ${page.total} ${t("matching")}`;
  if (keepSelection && state.selected >= 0 && state.selected < page.rows.length) select(state.selected);
  else if (state.selected >= page.rows.length) state.selected = -1;
}
async function select(index) {
  if (!state.page || index < 0 || index >= state.page.rows.length) return;
  state.selected = index; state.editing = false;
  $$("#samples tr.row").forEach((tr) => tr.classList.toggle("selected", Number(tr.dataset.index) === index));
  const row = $(`#samples tr.row[data-index="${index}"]`);
  if (row) row.scrollIntoView({ block: "nearest" });
  const id = state.page.rows[index].sample_id;
  // actions wait for this load (see current()), so a key pressed right after j/k acts on the highlighted row
  state.loading = (async () => {
    const detail = await guarded(() => api("GET", `/api/datasets/${state.dataset.id}/samples/${encodeURIComponent(id)}`));
    if (detail && state.selected === index) { state.detail = detail; renderSample(); }
  })();
  await state.loading;
}
async function current() {
  // the sample the reviewer sees highlighted: wait for a selection still loading before acting on it
  if (state.loading) await state.loading;
  const selected = state.page && state.page.rows[state.selected];
  return state.detail && selected && state.detail.row.sample_id === selected.sample_id ? state.detail : null;
}
function highlighted(passage, start, spans) {
  // evidence offsets index the cleaned document; the passage starts at `start` in it
  const marks = spans.map((s) => [s.char_start - start, s.char_end - start]).filter(([a, b]) => b > 0 && a < passage.length)
    .map(([a, b]) => [Math.max(0, a), Math.min(passage.length, b)]).sort((x, y) => x[0] - y[0]);
  let out = "", at = 0;
  for (const [a, b] of marks) {
    if (a < at) continue;
    out += esc(passage.slice(at, a)) + `<mark title="${esc(t("evidence"))}">${esc(passage.slice(a, b))}</mark>`;
    at = b;
  }
  return out + esc(passage.slice(at));
}
function textField(key, value) {
  return `<div class="field"><h3>${esc(t(key))}</h3><div class="text" data-field="${key}">${esc(value)}</div></div>`;
}
function renderSample() {
  const d = state.detail, s = d.sample, r = d.row;
  const box = $("#sample-view");
  if (state.editing) { renderEditor(); return; }
  let body = "";
  if (s.turns && s.turns.length) {
    body += `<div class="field"><h3>${esc(t("turns"))}</h3>${s.turns.map((turn) => `<div class="text"><b>${esc(turn.role)}:</b> ${esc(turn.content)}</div>`).join("")}</div>`;
  } else {
    body += textField("question", s.question);
    body += textField(s.rejected_answer ? "chosen" : "answer", s.answer);
    if (s.rejected_answer) body += textField("rejectedAnswer", s.rejected_answer);
  }
  if (s.chain_of_thought && s.chain_of_thought.length) {
    body += `<div class="field"><h3>${esc(t("steps"))}</h3><ol>${s.chain_of_thought.map((x) => `<li>${esc(x)}</li>`).join("")}</ol></div>`;
  } else if (s.reasoning) body += textField("reasoning", s.reasoning);
  const p = s.provenance || {};
  const where = [p.source, p.page ? `p. ${p.page}` : "", (p.heading_path || []).join(" › ")].filter(Boolean).join(" · ");
  body += `<div class="field"><h3>${esc(t("passage"))} <span class="muted">${esc(where)}</span></h3>` +
    (d.passage != null ? `<div class="passage" id="passage">${highlighted(d.passage, d.passage_start || 0, s.evidence || [])}</div>`
      : `<p class="muted">${esc(t("noPassage"))}</p>`) + `</div>`;
  const review = s.review;
  if (review) {
    body += `<h3>${esc(t("scores"))} <span class="muted">${esc(review.reviewer || "")} · ${review.total.toFixed(2)}</span></h3>`;
    if (review.scores) {
      body += `<div class="scores">${Object.entries(review.scores).map(([k, v]) => `<span>${esc(k)}</span><div class="bar"><span style="width:${Math.round(v * 100)}%"></span></div><span>${v.toFixed(2)}</span>`).join("")}</div>`;
    }
    if (review.rationale) body += textField("rationale", review.rationale);
  }
  if (s.checks && s.checks.length) {
    body += `<h3>${esc(t("checks"))}</h3><ul>${s.checks.map((c) => `<li class="check ${c.passed ? "ok" : "no"}">${esc(c.name)} <span class="muted">${esc(c.detail)}</span></li>`).join("")}</ul>`;
  }
  if (s.rejection) body += `<h3>${esc(t("rejection"))}</h3><p><span class="badge reject">${esc(s.rejection.reason)}</span> ${esc(s.rejection.detail)}</p>`;
  body += `<h3>${esc(t("history"))}</h3><ul class="history" id="history">${d.history.map((h) => `<li><b>${esc(h.actor)}</b> <span class="muted">${new Date(h.at * 1000).toLocaleString()}</span> ${esc(h.action)}${h.undone ? ` (${esc(t("wasUndone"))})` : ""}: ${h.diff.filter((c) => c.field !== "reviewer").map((c) => `${esc(c.field)} <del>${esc(short(c.before))}</del> → <ins>${esc(short(c.after))}</ins>`).join("; ")}</li>`).join("") || `<li class="muted">—</li>`}</ul>`;
  box.innerHTML = `<div class="row-flex"><b>${esc(r.sample_id)}</b><span class="badge ${esc(r.decision)}" id="decision-badge">${esc(t(r.decision))}</span>
      <span class="muted">${esc(r.label || "")} · ${esc(r.split || "—")} · v${r.version}</span></div>
    <div class="actions">
      <button class="good" id="act-accept" type="button">${esc(t("accept"))} (a)</button>
      <button class="bad" id="act-reject" type="button">${esc(t("reject"))} (r)</button>
      <button id="act-edit" type="button">${esc(t("edit"))} (e)</button>
      <button id="act-undo" type="button">${esc(t("undo"))} (u)</button>
      ${r.decision === "reject" ? `<button id="act-rescue" type="button">${esc(t("rescue"))}</button>` : ""}
    </div>${body}<p class="keys">${esc(t("keys"))}</p>`;
  $("#act-accept").addEventListener("click", () => decideCurrent("accept"));
  $("#act-reject").addEventListener("click", () => rejectCurrent());
  $("#act-edit").addEventListener("click", () => { state.editing = true; renderSample(); });
  $("#act-undo").addEventListener("click", () => undoLast());
  if ($("#act-rescue")) $("#act-rescue").addEventListener("click", () => rescueCurrent());
}
function short(value) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text && text.length > 80 ? text.slice(0, 77) + "…" : text ?? "";
}
function renderEditor() {
  const s = state.detail.sample, r = state.detail.row;
  const fields = ["question", "answer", "reasoning"];
  if (s.rejected_answer != null) fields.push("rejected_answer");
  const box = $("#sample-view");
  box.innerHTML = `<form id="editor"><div class="row-flex"><b>${esc(r.sample_id)}</b> <span class="muted">${esc(t("edit"))}</span></div>
    ${fields.map((name) => `<div class="field"><h3>${esc(t(name === "rejected_answer" ? "rejectedAnswer" : name))}</h3>
      <textarea name="${name}" rows="${name === "question" ? 3 : 6}">${esc(s[name] || "")}</textarea></div>`).join("")}
    ${s.turns ? `<div class="field"><h3>${esc(t("turns"))} (JSON)</h3><textarea name="turns" rows="8">${esc(JSON.stringify(s.turns, null, 1))}</textarea></div>` : ""}
    <div class="field row-flex"><label>${esc(t("label"))} <input name="label" list="label-list" value="${esc(s.label || "")}" size="30"></label>
      <datalist id="label-list">${(state.facets ? state.facets.labels : []).map((l) => `<option value="${esc(l)}">`).join("")}</datalist>
      <label>${esc(t("split"))} <input name="split" value="${esc(r.split)}" size="10"></label></div>
    <div class="actions"><button class="primary" id="edit-save">${esc(t("save"))} (Ctrl+Enter)</button>
      <button type="button" id="edit-cancel">${esc(t("cancel"))} (Esc)</button></div></form>`;
  const form = $("#editor");
  form.addEventListener("submit", (event) => { event.preventDefault(); saveEdit(); });
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); saveEdit(); }
    if (event.key === "Escape") { state.editing = false; renderSample(); }
  });
  $("#edit-cancel").addEventListener("click", () => { state.editing = false; renderSample(); });
  $("textarea", form).focus();
}
async function saveEdit() {
  if (needReviewer()) return;
  const s = state.detail.sample, r = state.detail.row;
  const form = $("#editor");
  const fields = {};
  $$("textarea, input", form).forEach((el) => {
    if (!el.name) return;
    let value = el.value;
    if (el.name === "turns") {
      try { value = JSON.parse(value); } catch (error) { toast(`turns: ${error.message}`, true); throw error; }
    }
    const current = el.name === "split" ? r.split : s[el.name];
    if (el.name === "label" && value === "") value = null;
    if (el.name === "reasoning" && value === "" && current == null) return;
    if (JSON.stringify(value) !== JSON.stringify(current ?? (el.name === "label" ? null : ""))) fields[el.name] = value;
  });
  if (!Object.keys(fields).length) { state.editing = false; renderSample(); return; }
  const result = await guarded(() => api("PATCH", `/api/datasets/${state.dataset.id}/samples/${encodeURIComponent(r.sample_id)}`, { fields, version: r.version }));
  if (result) { toast(t("saved")); state.editing = false; await refreshCurrent(); }
}
async function refreshCurrent() {
  await loadPage(true);
}
async function decideCurrent(decision, reason) {
  const detail = await current();
  if (needReviewer() || !detail) return;
  const r = detail.row;
  const result = await guarded(() => api("POST", `/api/datasets/${state.dataset.id}/samples/${encodeURIComponent(r.sample_id)}/decision`, { decision, reason: reason || "", version: r.version }));
  if (result) {
    toast(`${r.sample_id}: ${t(decision)}`);
    await loadPage(false);
    // move on: to the row after the decided one, or to the row now in its place if the filter dropped it
    const rows = state.page ? state.page.rows : [];
    const at = rows.findIndex((row) => row.sample_id === r.sample_id);
    select(Math.max(0, Math.min(at >= 0 ? at + 1 : state.selected, rows.length - 1)));
  }
}
async function rejectCurrent() {
  const detail = await current();
  if (needReviewer() || !detail) return;
  modal(`<h2>${esc(t("reject"))}: ${esc(detail.row.sample_id)}</h2>
    <form id="reject-form" class="inline"><input id="reject-reason" size="60" placeholder="${esc(t("rejectReason"))}" required>
    <button class="bad">${esc(t("reject"))}</button><button type="button" class="close">${esc(t("cancel"))}</button></form>`);
  $("#reject-reason").focus();
  $("#reject-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const reason = $("#reject-reason").value.trim();
    closeModal();
    decideCurrent("reject", reason);
  });
}
async function rescueCurrent() {
  const detail = await current();
  if (needReviewer() || !detail) return;
  const r = detail.row;
  const result = await guarded(() => api("POST", `/api/datasets/${state.dataset.id}/samples/${encodeURIComponent(r.sample_id)}/rescue`, { reason: "rescued" }));
  if (result) { toast(`${r.sample_id}: ${t("rescue")}`); await loadPage(true); }
}
async function undoLast() {
  if (needReviewer()) return;
  const result = await guarded(() => api("POST", `/api/datasets/${state.dataset.id}/undo`, {}));
  if (result) { toast(`${t("undone")} (${result.samples})`); await loadPage(true); }
}

// --- bulk changes with a preview of every change -----------------------------------------------------------
function bulkDialog(kind) {
  if (needReviewer()) return;
  let form = "";
  if (kind === "decide-reject") form = `<input id="bulk-reason" size="50" placeholder="${esc(t("rejectReason"))}">`;
  if (kind === "relabel") {
    form = `<label>${esc(t("newLabel"))} <input id="bulk-label" list="bulk-labels" size="36"></label>
      <datalist id="bulk-labels">${state.facets.labels.map((l) => `<option value="${esc(l)}">`).join("")}</datalist>`;
  }
  if (kind === "replace") {
    form = `<input id="bulk-find" placeholder="${esc(t("find"))}" size="24"> <input id="bulk-replace-with" placeholder="${esc(t("replaceWith"))}" size="24">
      <label><input type="checkbox" id="bulk-regex"> ${esc(t("regex"))}</label>
      <label><input type="checkbox" id="bulk-case" checked> ${esc(t("caseSensitive"))}</label>
      <span>${esc(t("fields"))}: ${["question", "answer", "reasoning"].map((f) => `<label><input type="checkbox" class="bulk-field" value="${f}" checked> ${esc(t(f))}</label>`).join(" ")}</span>`;
  }
  const title = { "decide-accept": t("bulkAccept"), "decide-reject": t("bulkReject"), relabel: t("relabel"), replace: t("replace") }[kind];
  modal(`<h2>${esc(title)} <span class="muted">(${state.page ? state.page.total : 0} ${esc(t("matching"))})</span></h2>
    <form class="inline" id="bulk-form">${form}<button class="primary" id="bulk-preview">${esc(t("preview"))}</button>
      <button type="button" class="close">${esc(t("cancel"))}</button></form><div id="bulk-result"></div>`);
  const op = () => {
    const base = { filter: filterBody() };
    if (kind.startsWith("decide")) return { ...base, kind: "decide", decision: kind === "decide-accept" ? "accept" : "reject", reason: ($("#bulk-reason") || { value: "" }).value.trim() };
    if (kind === "relabel") return { ...base, kind: "relabel", label: $("#bulk-label").value.trim() };
    return { ...base, kind: "replace", find: $("#bulk-find").value, replace: $("#bulk-replace-with").value, regex: $("#bulk-regex").checked, case_sensitive: $("#bulk-case").checked, fields: $$(".bulk-field:checked").map((el) => el.value) };
  };
  const first = $("#bulk-form input"); if (first) first.focus();
  $("#bulk-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const request = op();
    const plan = await guarded(() => api("POST", `/api/datasets/${state.dataset.id}/bulk/preview`, { op: request }));
    if (!plan) return;
    $("#bulk-result").innerHTML = `<p id="bulk-summary"><b>${plan.total}</b> ${esc(t("changes"))} <b>${plan.samples}</b> ${esc(t("samplesWord"))}</p>
      <table class="changes" id="bulk-changes"><thead><tr><th>id</th><th>${esc(t("field"))}</th><th>${esc(t("before"))}</th><th>${esc(t("after"))}</th></tr></thead><tbody>
      ${plan.changes.map((c) => `<tr><td>${esc(c.sample_id)}</td><td>${esc(c.field)}</td><td><del>${esc(short(c.before))}</del></td><td><ins>${esc(short(c.after))}</ins></td></tr>`).join("")}
      </tbody></table>${plan.changes.length < plan.total ? `<p class="muted">… ${plan.total - plan.changes.length}</p>` : ""}
      <div class="actions"><button class="primary" id="bulk-apply" ${plan.total ? "" : "disabled"}>${esc(t("apply"))}</button></div>`;
    $("#bulk-apply").addEventListener("click", async () => {
      const result = await guarded(() => api("POST", `/api/datasets/${state.dataset.id}/bulk/apply`, { op: request, fingerprint: plan.fingerprint }));
      if (result) {
        closeModal(); toast(`${t("done")}: ${result.samples} ${t("samplesWord")}`);
        state.facets = await api("GET", `/api/datasets/${state.dataset.id}/facets`).catch(() => state.facets);
        loadPage(true);
      }
    });
  });
}
function modal(html) {
  $("#modal-box").innerHTML = html;
  $("#modal").hidden = false;
  $$("#modal .close").forEach((b) => b.addEventListener("click", closeModal));
}
function closeModal() { $("#modal").hidden = true; $("#modal-box").innerHTML = ""; }

// --- labels page --------------------------------------------------------------------------------------------
async function showLabels() {
  const ticket = state.ticket;
  const data = await guarded(() => api("GET", `/api/datasets/${state.dataset.id}/labels`));
  if (!data || stale(ticket)) return;
  const counts = Object.fromEntries(data.balance.labels.map((c) => [c.label, c]));
  const max = Math.max(1, ...data.balance.labels.map((c) => c.accepted));
  const node = (n) => {
    const c = counts[n.path] || { total: 0, accepted: 0 };
    return `<li><div data-label="${esc(n.path)}"><span>${esc(n.name)}</span>
      <div class="bar" title="${c.accepted}/${c.total}"><span style="width:${Math.round((c.accepted / max) * 100)}%"></span></div>
      <span class="muted">${c.accepted} / ${c.total}</span></div>${n.children.length ? `<ul>${n.children.map(node).join("")}</ul>` : ""}</li>`;
  };
  const opts = data.paths.map((p) => `<option value="${esc(p)}">${esc(p)}</option>`).join("");
  const b = data.balance;
  $("#view").innerHTML = `<div class="two">
    <section class="card tree" id="label-tree"><h2>${esc(t("tree"))} · ${esc(t("balance"))}</h2>
      <p class="muted">${esc(t("imbalance"))}: <b id="imbalance">${b.imbalance ?? "—"}</b> · ${esc(t("unlabelled"))}: ${b.unlabelled}
      ${b.outside_tree.length ? ` · ${esc(t("outsideTree"))}: ${b.outside_tree.map(esc).join(", ")}` : ""}</p>
      <ul>${data.tree.map(node).join("")}</ul></section>
    <section class="card" id="label-forms"><h2>${esc(t("labels"))}</h2>
      <form class="inline" data-action="add"><input name="path" size="30" placeholder="Parent/Child" required><button>${esc(t("add"))}</button></form>
      <form class="inline" data-action="rename"><select name="path">${opts}</select> ${esc(t("to"))} <input name="name" size="14" required><button>${esc(t("rename"))}</button></form>
      <form class="inline" data-action="move"><select name="path">${opts}</select> ${esc(t("under"))} <select name="parent"><option value=""></option>${opts}</select><button>${esc(t("move"))}</button></form>
      <form class="inline" data-action="merge"><select name="path">${opts}</select> ${esc(t("into"))} <select name="target">${opts}</select><button>${esc(t("merge"))}</button></form>
      <form class="inline" data-action="remove"><select name="path">${opts}</select><button class="bad">${esc(t("remove"))}</button></form>
      <h3>${esc(t("importTaxonomy"))}</h3>
      <form class="inline" data-action="import"><input name="file" size="40" placeholder="${esc(t("path"))}" required>
        <label><input type="checkbox" name="replace"> ${esc(t("replaceTree"))}</label><button>${esc(t("import"))}</button></form>
      <p class="muted">${esc(t("undo"))}: <button type="button" id="labels-undo">${esc(t("undo"))}</button></p>
    </section></div>`;
  $$("#label-forms form").forEach((form) => form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (needReviewer()) return;
    const body = { action: form.dataset.action };
    $$("input, select", form).forEach((el) => { body[el.name] = el.type === "checkbox" ? el.checked : el.value; });
    const result = await guarded(() => api("POST", `/api/datasets/${state.dataset.id}/labels`, body));
    if (result) { toast(`${t("done")}: ${result.samples} ${t("samplesWord")}`); showLabels(); }
  }));
  $("#labels-undo").addEventListener("click", async () => { await undoLast(); showLabels(); });
  $$("#label-tree [data-label] > span:first-child").forEach((name) => {
    name.style.cursor = "pointer";
    name.title = t("review");
    name.addEventListener("click", () => {  // a label opens the review table on its samples
      state.filter = { label: name.parentElement.dataset.label }; state.offset = 0; state.selected = -1;
      location.hash = `#/d/${state.dataset.id}/review`;
    });
  });
}

// --- team page ----------------------------------------------------------------------------------------------
async function showTeam() {
  const ticket = state.ticket;
  const data = await guarded(() => api("GET", `/api/datasets/${state.dataset.id}/team`));
  const tree = await guarded(() => api("GET", `/api/datasets/${state.dataset.id}/labels`));
  if (!data || !tree || stale(ticket)) return;
  const opts = tree.paths.map((p) => `<option value="${esc(p)}">${esc(p)}</option>`).join("");
  $("#view").innerHTML = `<div class="two">
    <section class="card"><h2>${esc(t("assignments"))}</h2>
      <form class="inline" id="assign-form"><input name="reviewer" size="12" placeholder="${esc(t("reviewer"))}" value="${esc(state.reviewer)}" required>
        <select name="label_scope"><option value="">${esc(t("labelScope"))}: —</option>${opts}</select>
        <input name="range_start" type="number" min="1" placeholder="${esc(t("rangeStart"))}" style="width:110px">
        <input name="range_end" type="number" min="1" placeholder="${esc(t("rangeEnd"))}" style="width:70px">
        <button class="primary">${esc(t("assign"))}</button></form>
      <table id="assignments"><thead><tr><th>${esc(t("reviewer"))}</th><th>${esc(t("labelScope"))}</th><th>#</th><th>${esc(t("samples"))}</th><th></th></tr></thead>
      <tbody>${data.assignments.map((a) => `<tr><td>${esc(a.reviewer)}</td><td>${esc(a.label_scope || "")}</td>
        <td>${a.range_start != null || a.range_end != null ? `${(a.range_start ?? 0) + 1}–${a.range_end ?? ""}` : ""}</td><td>${a.samples}</td>
        <td><button type="button" class="unassign" data-id="${a.id}">${esc(t("delete"))}</button></td></tr>`).join("")}</tbody></table></section>
    <section class="card"><h2>${esc(t("agreement"))}</h2>
      ${data.agreement.length ? `<table id="agreement"><thead><tr><th>${esc(t("pair"))}</th><th>${esc(t("samples"))}</th><th>${esc(t("observed"))}</th><th>${esc(t("kappa"))}</th></tr></thead><tbody>
      ${data.agreement.map((p) => `<tr><td>${esc(p.reviewers.join(" × "))}</td><td>${p.samples}</td><td>${(p.observed * 100).toFixed(0)}%</td><td><b>${p.kappa == null ? "—" : p.kappa.toFixed(2)}</b></td></tr>`).join("")}</tbody></table>`
        : `<p class="muted">${esc(t("noAgreement"))}</p>`}</section></div>`;
  $("#assign-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const start = form.range_start.value, end = form.range_end.value;
    const body = { reviewer: form.reviewer.value.trim(), label_scope: form.label_scope.value || null,
      range_start: start ? Number(start) - 1 : null, range_end: end ? Number(end) : null };
    if (await guarded(() => api("POST", `/api/datasets/${state.dataset.id}/assignments`, body))) showTeam();
  });
  $$("button.unassign").forEach((b) => b.addEventListener("click", async () => {
    if (await guarded(() => api("DELETE", `/api/datasets/${state.dataset.id}/assignments/${b.dataset.id}`))) showTeam();
  }));
}

// --- validate and export ------------------------------------------------------------------------------------
const FORMATS = ["alpaca", "sharegpt", "openai", "domain", "cot", "classification", "pretrain"];
async function showExport() {
  const fmt = state.dataset.format;
  const options = FORMATS.map((f) => `<option ${f === fmt ? "selected" : ""}>${f}</option>`).join("");
  $("#view").innerHTML = `<div class="two">
    <section class="card"><h2>${esc(t("validate"))}</h2>
      <form class="inline" id="validate-form"><select name="format">${options}</select><button class="primary">${esc(t("validate"))}</button></form>
      <div id="validate-result"></div></section>
    <section class="card"><h2>${esc(t("exportTitle"))}</h2>
      <form id="export-form"><div class="row-flex"><label>${esc(t("format"))} <select name="format">${options}</select></label>
        <span>${esc(t("fileTypes"))}: ${["jsonl", "json", "csv", "parquet"].map((ft) => `<label><input type="checkbox" name="ft" value="${ft}" ${ft === "jsonl" ? "checked" : ""}> ${ft}</label>`).join(" ")}</span></div>
        <div class="row-flex">${esc(t("splitMode"))}: <label><input type="radio" name="split" value="keep" checked> ${esc(t("keepSplit"))}</label>
          <label><input type="radio" name="split" value="recompute"> ${esc(t("recompute"))}</label></div>
        <div class="actions"><button class="primary" id="export-button">${esc(t("exportButton"))}</button></div></form>
      <div id="export-result"></div></section></div>
    <section class="card"><h2>${esc(t("audit"))}</h2><ul class="history" id="audit-log"></ul></section>`;
  $("#validate-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const report = await guarded(() => api("GET", `/api/datasets/${state.dataset.id}/validate?format=${event.target.format.value}`));
    if (!report) return;
    $("#validate-result").innerHTML = `<p id="validate-summary"><b>${report.valid}</b> ${esc(t("valid"))} / ${report.total}` +
      (report.ok ? ` · ${esc(t("allValid"))}` : "") + `</p><ul class="errors">${report.errors.slice(0, 50).map((e) => `<li>${esc(e.sample_id)}: ${esc(e.message)}</li>`).join("")}</ul>`;
  });
  $("#export-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const body = { format: form.format.value, file_types: $$("input[name=ft]:checked", form).map((el) => el.value), split: form.split.value };
    const result = await guarded(() => api("POST", `/api/datasets/${state.dataset.id}/export`, body));
    if (!result) return;
    $("#export-result").innerHTML = `<p id="export-summary">${Object.entries(result.counts).map(([k, v]) => `${esc(k)}: <b>${v}</b>`).join(" · ")} · ${esc(t("rejected"))}: ${result.rejected}</p>
      <p class="muted">${esc(result.out_dir)}</p>${result.errors.length ? `<ul class="errors">${result.errors.slice(0, 20).map((e) => `<li>${esc(e.sample_id)}: ${esc(e.message)}</li>`).join("")}</ul>` : ""}
      <a id="download" class="primary" href="${esc(result.download)}" download><button type="button" class="primary">${esc(t("download"))}</button></a>`;
  });
  const ticket = state.ticket;
  const log = await guarded(() => api("GET", `/api/datasets/${state.dataset.id}/history?limit=30`));
  if (log && !stale(ticket)) {
    $("#audit-log").innerHTML = log.map((h) => `<li><b>${esc(h.actor)}</b> <span class="muted">${new Date(h.at * 1000).toLocaleString()}</span> ${esc(h.summary)}${h.undone ? ` (${esc(t("wasUndone"))})` : ""}</li>`).join("");
  }
}

// --- keyboard -----------------------------------------------------------------------------------------------
document.addEventListener("keydown", (event) => {
  const target = event.target;
  const typing = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement;
  if (event.key === "Escape") { if (!$("#modal").hidden) closeModal(); else if (typing) target.blur(); return; }
  if (typing || event.ctrlKey || event.metaKey || event.altKey || !$("#samples") || !$("#modal").hidden) return;
  const key = event.key;
  if (key === "j") { event.preventDefault(); nextSample(1); }
  else if (key === "k") { event.preventDefault(); nextSample(-1); }
  else if (key === "a") { event.preventDefault(); decideCurrent("accept"); }
  else if (key === "r") { event.preventDefault(); rejectCurrent(); }
  else if (key === "e" && state.detail) { event.preventDefault(); state.editing = true; renderSample(); }
  else if (key === "u") { event.preventDefault(); undoLast(); }
  else if (key === "/") { event.preventDefault(); $("#f-q").focus(); }
});
async function nextSample(step) {
  if (!state.page) return;
  const index = state.selected + step;
  if (index >= state.page.rows.length && state.offset + state.limit < state.page.total) {
    state.offset += state.limit; await loadPage(); select(0);
  } else if (index < 0 && state.offset > 0) {
    state.offset = Math.max(0, state.offset - state.limit); await loadPage(); select(state.page.rows.length - 1);
  } else select(Math.max(0, Math.min(index, state.page.rows.length - 1)));
}

// --- start --------------------------------------------------------------------------------------------------
$("#reviewer").value = state.reviewer;
$("#reviewer").addEventListener("input", (event) => { state.reviewer = event.target.value.trim(); localStorage.setItem("ftds.reviewer", state.reviewer); });
$("#lang").addEventListener("click", () => {
  state.lang = state.lang === "en" ? "zh" : "en";
  localStorage.setItem("ftds.lang", state.lang);
  applyI18n(document); route();
});
window.addEventListener("hashchange", route);
applyI18n(document);
route();
