// The Generate view: .proto files (uploaded, dropped or typed) in an editor
// with a line gutter, the package settings built from /api/meta, and
// POST /api/generate. A compile error is shown as file:line:col and its line
// is highlighted in the editor.
import { ApiError, api } from "./api.js";
import { el } from "./dom.js";

/** Uploaded files, by name, in upload order. */
const files = new Map();
let current = null;
let errorMark = null; // { file, line } of the error shown in the editor

const $ = (id) => document.getElementById(id);

export function initGenerate(meta) {
  const source = $("source");
  $("protos-dir").textContent = meta.protos ? `Imports also resolve from ${meta.protos}.` : "";

  $("file-input").addEventListener("change", async (event) => {
    await addUploads(event.target.files);
    event.target.value = "";
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", async (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    await addUploads(event.dataTransfer.files);
  });
  $("new-file-form").addEventListener("submit", (event) => {
    event.preventDefault();
    let name = $("new-file-name").value.trim();
    if (name === "") return;
    if (!name.endsWith(".proto")) name += ".proto";
    if (!files.has(name)) files.set(name, "");
    $("new-file-name").value = "";
    open(name);
    source.focus();
  });

  source.addEventListener("input", () => {
    if (current !== null) files.set(current, source.value);
    if (errorMark !== null && errorMark.file === current) clearErrorMark();
    renderGutter();
  });
  source.addEventListener("scroll", syncScroll);

  for (const radio of document.querySelectorAll('input[name="kind"]')) radio.addEventListener("change", () => renderSettings(meta));
  $("generate-form").addEventListener("submit", (event) => {
    event.preventDefault();
    generate(meta);
  });
  renderSettings(meta);
  renderFiles();
}

async function addUploads(list) {
  for (const file of list) files.set(file.name, await file.text());
  renderFiles();
  if (list.length > 0) open(list[list.length - 1].name);
}

function renderFiles() {
  const ul = $("files");
  ul.replaceChildren(
    ...[...files.keys()].map((name) =>
      el(
        "li",
        { className: name === current ? "current" : "", dataset: { file: name } },
        el("button", { type: "button", className: "file-name", onclick: () => open(name) }, name),
        el("button", { type: "button", className: "remove", title: `remove ${name}`, onclick: () => removeFile(name) }, "×"),
      ),
    ),
  );
}

function removeFile(name) {
  files.delete(name);
  if (current === name) current = null;
  renderFiles();
  open(current ?? [...files.keys()][0] ?? null);
}

/** Shows `name` in the editor (null: empty editor). */
function open(name) {
  current = name;
  const source = $("source");
  source.disabled = name === null;
  source.value = name === null ? "" : files.get(name);
  $("editor-name").textContent = name ?? "no file";
  renderFiles();
  renderGutter();
  source.scrollTop = 0;
  syncScroll();
}

/** Line numbers beside the text; the error's line is marked. */
function renderGutter() {
  const count = $("source").value.split("\n").length;
  const errorLine = errorMark !== null && errorMark.file === current ? errorMark.line : 0;
  $("gutter").replaceChildren(
    ...Array.from({ length: count }, (_, i) => el("span", { className: i + 1 === errorLine ? "line error" : "line" }, String(i + 1))),
  );
  const highlight = $("highlight");
  highlight.hidden = errorLine === 0;
  highlight.dataset.line = String(errorLine);
  syncScroll();
}

function syncScroll() {
  const source = $("source");
  $("gutter").scrollTop = source.scrollTop;
  const highlight = $("highlight");
  if (highlight.hidden) return;
  const lineHeight = parseFloat(getComputedStyle(source).lineHeight);
  const padding = parseFloat(getComputedStyle(source).paddingTop);
  highlight.style.top = `${padding + (Number(highlight.dataset.line) - 1) * lineHeight - source.scrollTop}px`;
  highlight.style.height = `${lineHeight}px`;
}

function clearErrorMark() {
  errorMark = null;
  renderGutter();
}

function renderSettings(meta) {
  const kind = document.querySelector('input[name="kind"]:checked').value;
  const { languages, options } = meta.kinds[kind];
  const previous = new Set([...document.querySelectorAll('#langs input:checked')].map((i) => i.value));
  const type = kind === "server" ? "radio" : "checkbox";
  $("langs").replaceChildren(
    el("legend", {}, kind === "server" ? "Language (one)" : "Languages"),
    ...languages.map((lang, i) =>
      el(
        "label",
        {},
        el("input", { type, name: "lang", value: lang, checked: previous.size > 0 ? previous.has(lang) && (type === "checkbox" || lang === [...previous][0]) : kind === "server" ? i === 0 : lang === "ts", onchange: () => renderOptions(meta) }),
        ` ${lang}`,
      ),
    ),
  );
  if (!document.querySelector("#langs input:checked")) document.querySelector("#langs input").checked = true;
  renderOptions(meta);
}

/** One input per option of the kind: common ones, then those of the chosen languages. */
function renderOptions(meta) {
  const kind = document.querySelector('input[name="kind"]:checked').value;
  const chosen = new Set(selectedLangs());
  const values = new Map([...document.querySelectorAll("#options input")].map((i) => [i.name, i.value]));
  const shown = meta.kinds[kind].options.filter((o) => o.lang === null || chosen.has(o.lang));
  $("options").replaceChildren(
    ...shown.map((o) =>
      el(
        "label",
        { title: o.description },
        el("span", { className: "option-name" }, `--${o.name}${o.repeatable ? " (comma-separated)" : ""}`),
        el("input", { name: o.name, value: values.get(o.name) ?? "", placeholder: o.default ?? "", dataset: { repeatable: String(o.repeatable) } }),
        el("small", {}, o.description),
      ),
    ),
  );
}

function selectedLangs() {
  return [...document.querySelectorAll("#langs input:checked")].map((i) => i.value);
}

/** The JSON body of POST /api/generate for the current form. */
function requestBody() {
  const options = {};
  for (const input of document.querySelectorAll("#options input")) {
    const value = input.value.trim();
    if (value === "") continue;
    options[input.name] = input.dataset.repeatable === "true" ? value.split(",").map((v) => v.trim()).filter((v) => v !== "") : value;
  }
  const name = $("name").value.trim();
  return {
    kind: document.querySelector('input[name="kind"]:checked').value,
    ...(name === "" ? {} : { name }),
    lang: selectedLangs().join(","),
    files: [...files].map(([fileName, content]) => ({ name: fileName, content })),
    options,
  };
}

async function generate() {
  const status = $("generate-status");
  showError(null);
  if (files.size === 0) {
    status.textContent = "Add a .proto file first.";
    return;
  }
  const button = $("generate-button");
  button.disabled = true;
  status.textContent = "Generating…";
  try {
    const res = await api("/api/generate", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(requestBody()),
    });
    const fileName = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1] ?? "package.tgz";
    const blob = await res.blob();
    const link = el("a", { href: URL.createObjectURL(blob), download: fileName });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    const warnings = JSON.parse(decodeURIComponent(res.headers.get("x-msec-gen-warnings") ?? "%5B%5D"));
    status.textContent = `Downloaded ${fileName} (${blob.size.toLocaleString("en")} bytes)${warnings.length ? ` — ${warnings.join("; ")}` : ""}`;
    status.dataset.file = fileName;
  } catch (e) {
    status.textContent = "";
    showError(e instanceof ApiError ? e.detail : { message: e.message });
  } finally {
    button.disabled = false;
  }
}

/** Shows an API error; a compile error opens its file with the line highlighted. */
function showError(detail) {
  const box = $("error");
  if (detail === null) {
    box.hidden = true;
    box.textContent = "";
    if (errorMark !== null) clearErrorMark();
    return;
  }
  const where = detail.file ? `${detail.file}:${detail.line}:${detail.col}: ` : "";
  const rest = (detail.errors ?? []).slice(1);
  box.replaceChildren(el("strong", { className: "where" }, where), detail.message, ...rest.map((line) => el("div", {}, line)));
  box.hidden = false;
  if (detail.file && files.has(detail.file)) {
    errorMark = { file: detail.file, line: detail.line };
    open(detail.file);
    selectLine(detail.line, detail.col);
  }
}

/** Scrolls the editor to `line` and puts the caret at `col`. */
function selectLine(line, col) {
  const source = $("source");
  const lines = source.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  source.focus();
  source.setSelectionRange(start + Math.max(0, col - 1), start + (lines[line - 1] ?? "").length);
  const lineHeight = parseFloat(getComputedStyle(source).lineHeight);
  source.scrollTop = Math.max(0, (line - 3) * lineHeight);
  syncScroll();
}
