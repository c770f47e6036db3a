// rag-zh web page: plain JS, no build step. Everything that comes from documents or answers
// is inserted as text (textContent / text nodes), never parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const PAGE_SIZE = 20;
let documentsOffset = 0;
let askController = null;

// -- HTTP ---------------------------------------------------------------------------------

function authHeaders(extra) {
  const headers = Object.assign({}, extra || {});
  const token = $("token").value.trim();
  if (token) headers["Authorization"] = "Bearer " + token;
  return headers;
}

function documentPath(id) {
  // Ids may contain "/" (the route takes a path): encode each segment, keep the slashes.
  return "/documents/" + id.split("/").map(encodeURIComponent).join("/");
}

async function errorMessage(response) {
  let message = "请求失败（HTTP " + response.status + "）";
  try {
    const body = await response.json();
    if (body && body.error && body.error.message) message = body.error.message;
  } catch (_) { /* not JSON: keep the status line */ }
  if (response.status === 401) message = "需要令牌：请在右上角“令牌”中填写 API 令牌。（" + message + "）";
  return message;
}

async function request(method, path, body) {
  const init = { method: method, headers: authHeaders(body ? { "Content-Type": "application/json" } : {}) };
  if (body) init.body = JSON.stringify(body);
  const response = await fetch(path, init);
  if (!response.ok) throw new Error(await errorMessage(response));
  return response.status === 204 ? null : response.json();
}

// Server-sent events over a POST: EventSource cannot send a body or a token.
async function* readEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder("utf-8");
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let kind = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) kind = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { kind: kind, data: JSON.parse(data.join("\n")) };
    }
  }
}

// -- rendering helpers --------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "className") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function setStatus(id, text, isError) {
  const node = $(id);
  node.textContent = text || "";
  node.classList.toggle("error", Boolean(isError));
}

// -- asking -------------------------------------------------------------------------------

let citationsById = new Map();

function citationLabel(c) {
  return c.title + " · 第" + c.paragraph + "段";
}

// Answer text with its [n] markers turned into buttons that open the cited paragraph.
function renderAnswer(text) {
  const box = $("answer");
  box.replaceChildren();
  const marker = /\[(\d+)\]/g;
  let last = 0;
  let match;
  while ((match = marker.exec(text)) !== null) {
    box.append(document.createTextNode(text.slice(last, match.index)));
    const id = Number(match[1]);
    if (citationsById.has(id)) {
      const button = el("button", { type: "button", className: "cite", dataset: { cite: String(id) },
        title: citationLabel(citationsById.get(id)) }, "[" + id + "]");
      box.append(button);
    } else {
      box.append(document.createTextNode(match[0]));
    }
    last = match.index + match[0].length;
  }
  box.append(document.createTextNode(text.slice(last)));
}

function renderCitations(citations) {
  citationsById = new Map(citations.map((c) => [c.id, c]));
  const list = $("citations");
  list.replaceChildren();
  for (const c of citations) {
    const open = el("button", { type: "button", className: "source", dataset: { cite: String(c.id) } },
      el("span", { className: "num" }, "[" + c.id + "]"), " ", citationLabel(c));
    list.append(el("li", {}, open, el("blockquote", {}, "“" + c.quote + "”")));
  }
  $("citations-title").hidden = citations.length === 0;
}

async function ask(question) {
  if (askController) askController.abort();
  askController = new AbortController();
  renderCitations([]);
  renderAnswer("");
  setStatus("ask-status", "正在检索并作答……");
  let text = "";
  try {
    const response = await fetch("/ask/stream", {
      method: "POST",
      headers: authHeaders({ "Content-Type": "application/json", "Accept": "text/event-stream" }),
      body: JSON.stringify({ question: question }),
      signal: askController.signal,
    });
    if (!response.ok) throw new Error(await errorMessage(response));
    for await (const event of readEvents(response)) {
      if (event.kind === "citations") {
        renderCitations(event.data.citations);
      } else if (event.kind === "delta") {
        text += event.data.text;
        renderAnswer(text);
      } else if (event.kind === "done") {
        renderCitations(event.data.citations);
        renderAnswer(event.data.answer);
        $("citations-title").textContent = event.data.answered ? "来源" : "最接近的资料";
        setStatus("ask-status", (event.data.answered ? "已作答" : "资料中未找到答案") +
          " · 用时 " + Math.round(event.data.took_ms) + " 毫秒");
      } else if (event.kind === "error") {
        throw new Error(event.data.error.message);
      }
    }
  } catch (err) {
    if (err.name !== "AbortError") setStatus("ask-status", err.message, true);
  }
}

// -- searching ----------------------------------------------------------------------------

async function search(query) {
  setStatus("search-status", "正在搜索……");
  $("results").replaceChildren();
  try {
    const data = await request("POST", "/search", { query: query, top_k: 10 });
    for (const hit of data.results) {
      const open = el("button", { type: "button", className: "source",
        dataset: { doc: hit.doc_id, paragraph: String(hit.paragraph) } },
        hit.title + " · 第" + hit.paragraph + "段");
      $("results").append(el("li", {}, open, el("span", { className: "score" }, "相关度 " + hit.score.toFixed(4)),
        el("p", {}, hit.text)));
    }
    setStatus("search-status", data.results.length ? "找到 " + data.results.length + " 个段落 · 用时 " +
      Math.round(data.took_ms) + " 毫秒" : "没有找到相关段落");
  } catch (err) {
    setStatus("search-status", err.message, true);
  }
}

// -- one document, with a paragraph and a quote highlighted -------------------------------

function highlighted(text, quote, hint) {
  const p = el("p", {});
  let at = hint >= 0 && text.slice(hint, hint + quote.length) === quote ? hint : text.indexOf(quote);
  if (!quote || at < 0) {
    p.append(document.createTextNode(text));
    return p;
  }
  p.append(document.createTextNode(text.slice(0, at)), el("mark", {}, quote),
    document.createTextNode(text.slice(at + quote.length)));
  return p;
}

async function openDocument(docId, paragraph, citation) {
  const view = $("document-view");
  try {
    const doc = await request("GET", documentPath(docId));
    $("document-title").textContent = doc.title;
    $("document-delete").dataset.remove = doc.id;
    $("document-meta").textContent = "编号 " + doc.id + " · 共 " + doc.paragraphs.length + " 段";
    const box = $("document-paragraphs");
    box.replaceChildren();
    let target = null;
    for (const para of doc.paragraphs) {
      const cited = para.index === paragraph;
      const body = cited && citation
        ? highlighted(para.text, citation.quote, citation.start - para.start)
        : el("p", {}, para.text);
      const wrapper = el("div", { className: cited ? "paragraph cited" : "paragraph", id: "p-" + para.index },
        el("span", { className: "num" }, "第" + para.index + "段"), body);
      if (cited) target = wrapper;
      box.append(wrapper);
    }
    view.hidden = false;
    (target || view).scrollIntoView({ block: "center" });
  } catch (err) {
    setStatus("ask-status", err.message, true);
  }
}

// -- documents: list, upload, delete ------------------------------------------------------

async function loadDocuments() {
  try {
    const page = await request("GET", "/documents?offset=" + documentsOffset + "&limit=" + PAGE_SIZE);
    $("documents-total").textContent = "（共 " + page.total + " 篇）";
    const list = $("documents");
    list.replaceChildren();
    for (const d of page.documents) {
      const open = el("button", { type: "button", className: "source", dataset: { doc: d.id, paragraph: "0" } },
        d.title);
      const remove = el("button", { type: "button", className: "danger", dataset: { remove: d.id } }, "删除");
      list.append(el("li", {}, open, el("span", { className: "meta" }, d.id + " · " + d.paragraph_count + " 段"),
        remove));
    }
    $("documents-prev").disabled = documentsOffset === 0;
    $("documents-next").disabled = documentsOffset + PAGE_SIZE >= page.total;
  } catch (err) {
    setStatus("documents-status", err.message, true);
  }
}

async function upload() {
  const file = $("upload-file").files[0];
  if (!file) return;
  const stem = file.name.replace(/\.[^.]*$/, "");
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(await file.arrayBuffer());
  } catch (_) {
    setStatus("documents-status", "文件不是 UTF-8 文本：请另存为 UTF-8 后再上传。", true);
    return;
  }
  const body = {
    id: $("upload-id").value.trim() || stem,
    title: $("upload-title").value.trim() || stem,
    text: text,
  };
  setStatus("documents-status", "正在上传并建立索引……");
  try {
    const doc = await request("POST", "/documents", body);
    setStatus("documents-status", "已收录《" + doc.title + "》，共 " + doc.paragraph_count + " 段");
    $("upload-form").reset();
    await loadDocuments();
  } catch (err) {
    setStatus("documents-status", err.message, true);
  }
}

async function removeDocument(docId) {
  if (!window.confirm("删除文档 " + docId + "？")) return;
  try {
    await request("DELETE", documentPath(docId));
    setStatus("documents-status", "已删除 " + docId);
    $("document-view").hidden = true;
    showView("documents");
  } catch (err) {
    setStatus("documents-status", err.message, true);
  }
}

// -- wiring -------------------------------------------------------------------------------

function showView(name) {
  for (const tab of document.querySelectorAll(".tab")) {
    tab.setAttribute("aria-selected", String(tab.dataset.view === name));
  }
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== "view-" + name;
  if (name === "documents") loadDocuments();
}

document.addEventListener("DOMContentLoaded", () => {
  const token = $("token");
  token.value = window.localStorage.getItem("rag-token") || "";
  token.addEventListener("change", () => window.localStorage.setItem("rag-token", token.value.trim()));

  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => { $("document-view").hidden = true; showView(tab.dataset.view); });
  }
  $("ask-form").addEventListener("submit", (e) => { e.preventDefault(); ask($("question").value); });
  $("search-form").addEventListener("submit", (e) => { e.preventDefault(); search($("query").value); });
  $("upload-form").addEventListener("submit", (e) => { e.preventDefault(); upload(); });
  $("documents-prev").addEventListener("click", () => { documentsOffset = Math.max(0, documentsOffset - PAGE_SIZE); loadDocuments(); });
  $("documents-next").addEventListener("click", () => { documentsOffset += PAGE_SIZE; loadDocuments(); });
  $("document-close").addEventListener("click", () => { $("document-view").hidden = true; });

  // One listener per list: buttons are re-created on every render.
  document.body.addEventListener("click", (e) => {
    const target = e.target instanceof Element ? e.target.closest("button") : null;
    if (!target) return;
    if (target.dataset.cite) {
      const c = citationsById.get(Number(target.dataset.cite));
      if (c) openDocument(c.doc_id, c.paragraph, c);
    } else if (target.dataset.doc) {
      openDocument(target.dataset.doc, Number(target.dataset.paragraph), null);
    } else if (target.dataset.remove) {
      removeDocument(target.dataset.remove);
    }
  });
});
