// xref reading view: plain JavaScript over the JSON API, routed by the URL hash:
//   #/doc/ID          a document, its cross-references in the margin
//   #/doc/ID/p/PID    …scrolled to one paragraph
//   #/search/QUERY    answers, grouped by document
//   #/compare/A/B     two paragraphs side by side
"use strict";

const $ = (sel, el = document) => el.querySelector(sel);
const $$ = (sel, el = document) => Array.from(el.querySelectorAll(sel));
const SNIPPET = 90; // characters of a margin link's text shown before "more"
const state = { docs: [], threshold: 0.5, doc: null, focus: -1, cache: new Map() };

function esc(s) {
  return String(s).replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// Text with the given terms marked (longest first, case-insensitive, HTML-escaped).
function highlight(text, terms) {
  const ts = (terms || []).filter(t => t && t.trim()).sort((a, b) => b.length - a.length);
  if (!ts.length) return esc(text);
  const re = new RegExp(ts.map(t => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "gi");
  let out = "", last = 0, m;
  while ((m = re.exec(text)) !== null) {
    if (m[0] === "") { re.lastIndex++; continue; }
    out += esc(text.slice(last, m.index)) + "<mark>" + esc(m[0]) + "</mark>";
    last = m.index + m[0].length;
  }
  return out + esc(text.slice(last));
}

async function api(path) {
  const r = await fetch(path);
  const body = await r.json().catch(() => ({ error: r.statusText }));
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

// The documents filter: words a title must contain (any of them), and -words it must not.
function docFilter() { return $("#docfilter").value.trim(); }
function allowedDoc(title) {
  const words = docFilter().split(/\s+/).filter(Boolean);
  const inc = words.filter(w => !w.startsWith("-")), exc = words.filter(w => w.startsWith("-") && w.length > 1).map(w => w.slice(1));
  return (!inc.length || inc.some(w => title.includes(w))) && !exc.some(w => title.includes(w));
}

async function loadDocs() {
  const [health, docs] = await Promise.all([api("/api/health"), api("/api/docs")]);
  state.docs = docs;
  state.threshold = health.threshold;
  const slider = $("#threshold");
  slider.value = health.threshold;
  $("#threshold-value").textContent = Number(health.threshold).toFixed(3);
  renderNav();
}

function renderNav() {
  $("#docs").innerHTML = state.docs
    .filter(d => allowedDoc(d.doc))
    .map(d => `<a href="#/doc/${encodeURIComponent(d.id)}" data-doc="${esc(d.id)}">${esc(d.doc)} <span class="count">${d.paragraphs}</span></a>`)
    .join("") || `<p class="empty">No document matches.</p>`;
  $$("#docs a").forEach(a => a.classList.toggle("current", a.dataset.doc === state.doc));
}

async function getDoc(id) {
  if (!state.cache.has(id)) state.cache.set(id, await api(`/api/docs/${encodeURIComponent(id)}?links=8&min_score=0`));
  return state.cache.get(id);
}

function linkHtml(l, from) {
  const snip = l.text.length > SNIPPET ? l.text.slice(0, SNIPPET) + "…" : l.text;
  return `<a class="link" href="#/compare/${encodeURIComponent(from)}/${encodeURIComponent(l.id)}" data-id="${esc(l.id)}" data-score="${l.score}">
    <span class="ltitle">${esc(l.doc)}</span>${l.section ? ` › ${esc(l.section)}` : ""}
    <span class="score">${l.score.toFixed(3)}</span>${l.quote ? ` <span class="quote">quotation</span>` : ""}
    <br><span class="snip" data-full="${esc(l.text)}" data-terms="${esc(JSON.stringify(l.terms))}">${highlight(snip, l.terms)}</span>
    ${l.text.length > SNIPPET ? `<button class="more" type="button">more</button>` : ""}${(l.translations || []).map(t =>
      ` <span class="tr" lang="${esc(t.lang)}" title="${esc(t.text)}" data-href="#/compare/${encodeURIComponent(from)}/${encodeURIComponent(t.id)}">${esc(t.lang)}</span>`).join("")}</a>`;
}

async function showDoc(id, pid) {
  const main = $("#main");
  let d;
  try { d = await getDoc(id); } catch (e) { main.innerHTML = `<p class="warn">${esc(e.message)}</p>`; return; }
  state.doc = id;
  renderNav();
  let html = `<h1>${esc(d.doc)}</h1>`, section = null;
  for (const p of d.paragraphs) {
    if (p.section && p.section !== section) html += `<div class="section">${esc(p.section)}</div>`;
    section = p.section;
    const links = (p.links || []).filter(l => l.score >= state.threshold && allowedDoc(l.doc));
    html += `<div class="row" id="${esc(p.id)}" data-id="${esc(p.id)}">
      <p class="para${p.kind ? ` kind-${esc(p.kind)}` : ""}" lang="${esc(p.lang)}">${p.kind ? `<span class="kind">${esc(p.kind)}</span>` : ""}${esc(p.text)}${p.page ? `<span class="page">p. ${p.page}</span>` : ""}</p>
      <div class="margin">${links.map(l => linkHtml(l, p.id)).join("")}${links.length > 3 ? `<button class="more-links" type="button">+${links.length - 3} more</button>` : ""}</div></div>`;
  }
  main.innerHTML = html;
  state.focus = -1;
  if (pid) focusRow($$(".row").findIndex(r => r.dataset.id === pid));
  else window.scrollTo(0, 0);
}

function focusRow(i) {
  const rows = $$(".row");
  if (!rows.length) return;
  state.focus = Math.max(0, Math.min(rows.length - 1, i));
  rows.forEach((r, j) => r.classList.toggle("focus", j === state.focus));
  rows[state.focus].scrollIntoView({ block: "center" });
}

async function showSearch(q) {
  $("#q").value = q;
  const main = $("#main");
  main.innerHTML = `<p class="hint">Searching…</p>`;
  let r;
  try { r = await api(`/api/search?k=${docFilter() ? 50 : 20}&q=${encodeURIComponent(q)}`); }
  catch (e) { main.innerHTML = `<p class="warn">${esc(e.message)}</p>`; return; }
  r.hits = r.hits.filter(h => allowedDoc(h.doc)).slice(0, 20);
  const groups = new Map();
  for (const h of r.hits) { if (!groups.has(h.doc)) groups.set(h.doc, []); groups.get(h.doc).push(h); }
  let html = `<h1>${esc(r.query)}</h1>`;
  if (!r.in_corpus) html += `<p class="warn">Probably not answered by these documents (low confidence).</p>`;
  if (!r.hits.length) html += `<p class="empty">No results.</p>`;
  for (const [title, hits] of groups) {
    html += `<div class="group"><h2>${esc(title)}</h2>`;
    for (const h of hits) {
      const docId = h.id.slice(0, h.id.indexOf("."));
      html += `<a class="hit" href="#/doc/${encodeURIComponent(docId)}/p/${encodeURIComponent(h.id)}" data-id="${esc(h.id)}">
        <span class="score">${h.score.toFixed(3)}</span>${h.section ? ` <span class="section">${esc(h.section)}</span>` : ""}
        ${h.sentence ? `<div class="sentence">» ${highlight(h.sentence, h.terms)}</div>` : ""}
        <div class="snip">${highlight(h.text, h.terms)}</div>${(h.translations || []).map(t =>
          `<div class="translation"><span class="lang">${esc(t.lang)}</span> ${esc(t.text)}</div>`).join("")}</a>`;
    }
    html += `</div>`;
  }
  main.innerHTML = html;
}

async function paragraph(id) {
  const docId = id.slice(0, id.indexOf("."));
  const d = await getDoc(docId);
  return { doc: d, p: d.paragraphs.find(p => p.id === id) };
}

async function showCompare(a, b) {
  const [x, y] = await Promise.all([paragraph(a), paragraph(b)]);
  if (!x.p || !y.p) { $("#main").innerHTML = `<p class="warn">Unknown paragraph.</p>`; return; }
  if (state.doc !== x.doc.id) await showDoc(x.doc.id, a);
  const link = (x.p.links || []).find(l => l.id === b);
  const terms = link ? link.terms : [];
  const side = (d, p) => `<h3><a href="#/doc/${encodeURIComponent(d.id)}/p/${encodeURIComponent(p.id)}">${esc(d.doc)}</a>${p.section ? ` › ${esc(p.section)}` : ""}</h3>
    <p lang="${esc(p.lang)}">${highlight(p.text, terms)}</p><p class="score">${esc(p.id)}</p>`;
  $("#side-a").innerHTML = side(x.doc, x.p);
  $("#side-b").innerHTML = side(y.doc, y.p);
  $("#compare-score").innerHTML = link ? `score ${link.score.toFixed(3)}${link.quote ? ` <span class="quote">quotation</span>` : ""} · shared: ${esc(terms.join(", ") || "—")}` : "";
  $("#compare").hidden = false;
  state.compare = { a: x, b: y };
}

function closeCompare() {
  if ($("#compare").hidden) return false;
  $("#compare").hidden = true;
  if (state.doc) history.replaceState(null, "", `#/doc/${encodeURIComponent(state.doc)}`);
  return true;
}

async function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] !== "compare") $("#compare").hidden = true;
  if (parts[0] === "doc" && parts[1]) await showDoc(parts[1], parts[2] === "p" ? parts[3] : null);
  else if (parts[0] === "search" && parts[1]) await showSearch(parts.slice(1).join("/"));
  else if (parts[0] === "compare" && parts[2]) await showCompare(parts[1], parts[2]);
  document.body.dataset.ready = location.hash || "#/";
  window.xrefReadyAt = performance.now();
}

function rerender() {
  renderNav();
  if (state.doc && !location.hash.startsWith("#/search")) showDoc(state.doc, $$(".row")[state.focus]?.dataset.id);
}

document.addEventListener("click", e => {
  const tr = e.target.closest(".tr");
  if (tr) { e.preventDefault(); location.hash = tr.dataset.href; return; }
  const extra = e.target.closest(".more-links");
  if (extra) { extra.closest(".margin").classList.add("open"); extra.remove(); return; }
  const more = e.target.closest(".more");
  if (more) {
    e.preventDefault();
    const s = more.parentElement.querySelector(".snip");
    s.innerHTML = highlight(s.dataset.full, JSON.parse(s.dataset.terms));
    more.remove();
  }
});

document.addEventListener("keydown", e => {
  const typing = ["INPUT", "TEXTAREA"].includes(document.activeElement.tagName);
  if (e.key === "Escape") { if (!closeCompare()) document.activeElement.blur(); return; }
  if (typing) return;
  if (e.key === "/") { e.preventDefault(); $("#q").focus(); $("#q").select(); }
  else if (e.key === "j") focusRow(state.focus + 1);
  else if (e.key === "k") focusRow(state.focus - 1);
  else if (e.key === "Enter") {
    const row = $$(".row")[state.focus];
    const first = row && row.querySelector(".link");
    if (first) location.hash = first.getAttribute("href");
  }
});

$("#search").addEventListener("submit", e => {
  e.preventDefault();
  const q = $("#q").value.trim();
  if (q) location.hash = `#/search/${encodeURIComponent(q)}`;
});
$("#threshold").addEventListener("input", e => {
  state.threshold = Number(e.target.value);
  $("#threshold-value").textContent = state.threshold.toFixed(3);
  rerender();
});
$("#docfilter").addEventListener("change", () => {
  rerender();
  if (location.hash.startsWith("#/search/")) route();
});
$("#close").addEventListener("click", closeCompare);
$("#copy").addEventListener("click", () => {
  const c = state.compare;
  if (!c) return;
  const text = `${c.a.doc.doc} [${c.a.p.id}]\n${c.a.p.text}\n\n${c.b.doc.doc} [${c.b.p.id}]\n${c.b.p.text}\n`;
  navigator.clipboard?.writeText(text);
});
window.addEventListener("hashchange", route);
loadDocs().then(route).catch(e => { $("#main").innerHTML = `<p class="warn">${esc(e.message)}</p>`; });
