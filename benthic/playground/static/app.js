// The Bloblang playground page: sends the mapping, input and metadata to /execute as you type,
// shows the output and its metadata, marks the failing span, and keeps its state in the link.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const mappingBox = $("mapping");
  const inputBox = $("input");
  const metadataBox = $("metadata");
  const backdrop = $("backdrop");
  const gutter = $("gutter");
  const errorLine = $("error");
  const metadataError = $("metadata-error");
  const output = $("output");
  const outputMeta = $("output-metadata");
  const outputMetaEmpty = $("output-metadata-empty");
  const status = $("status");
  const shareButton = $("share");
  const shareLink = $("share-link");

  const TYPE_DELAY_MS = 150;
  let errorPosition = null; // {line, column, kind} of the last failure
  let inFlight = false;
  let again = false;
  let timer = null;

  // --- the link: state in the fragment (never sent to the server) -------------------------

  function toBase64Url(bytes) {
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fromBase64Url(text) {
    const plain = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = new Uint8Array(plain.length);
    for (let i = 0; i < plain.length; i++) bytes[i] = plain.charCodeAt(i);
    return bytes;
  }

  async function pipeBytes(bytes, stream) {
    const piped = new Blob([bytes]).stream().pipeThrough(stream);
    return new Uint8Array(await new Response(piped).arrayBuffer());
  }

  // "z." + deflated JSON where the browser can compress, "j." + plain JSON otherwise
  async function encodeState(state) {
    const json = new TextEncoder().encode(JSON.stringify(state));
    if (typeof CompressionStream === "function") {
      return "z." + toBase64Url(await pipeBytes(json, new CompressionStream("deflate-raw")));
    }
    return "j." + toBase64Url(json);
  }

  async function decodeState(fragment) {
    const dot = fragment.indexOf(".");
    const kind = fragment.slice(0, dot);
    let bytes = fromBase64Url(fragment.slice(dot + 1));
    if (kind === "z") {
      bytes = await pipeBytes(bytes, new DecompressionStream("deflate-raw"));
    } else if (kind !== "j") {
      throw new Error("not a playground link");
    }
    const state = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof state !== "object" || state === null) throw new Error("not a playground link");
    return state;
  }

  function currentState() {
    return { mapping: mappingBox.value, input: inputBox.value, metadata: metadataBox.value };
  }

  function applyState(state) {
    if (typeof state.mapping === "string") mappingBox.value = state.mapping;
    if (typeof state.input === "string") inputBox.value = state.input;
    if (typeof state.metadata === "string") metadataBox.value = state.metadata;
  }

  let lastFragment = null;
  async function saveToLink() {
    const fragment = await encodeState(currentState());
    lastFragment = fragment;
    history.replaceState(null, "", "#" + fragment);
  }

  async function loadFromLink() {
    const fragment = location.hash.slice(1);
    if (!fragment || fragment === lastFragment) return false;
    try {
      applyState(await decodeState(fragment));
      lastFragment = fragment;
      return true;
    } catch (err) {
      setStatus("input-error", "the link could not be read");
      return false;
    }
  }

  shareButton.addEventListener("click", async () => {
    await saveToLink();
    const link = location.href;
    shareLink.value = link;
    try {
      await navigator.clipboard.writeText(link);
      shareButton.textContent = "Link copied";
      shareLink.hidden = true;
    } catch (err) {
      // no clipboard (a browser policy): show the link, selected, for the user to copy
      shareLink.hidden = false;
      shareLink.focus();
      shareLink.select();
    }
    shareButton.classList.add("done");
    setTimeout(() => {
      shareButton.textContent = "Copy link";
      shareButton.classList.remove("done");
    }, 1600);
  });

  // --- the mapping editor: line numbers and the error mark -----------------------------------

  function escapeHtml(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  // the failing span on a line, in characters (code points, as the engine counts columns)
  function failingSpan(chars, position) {
    if (position.kind === "mapping") {
      // a statement failed as a whole: mark the line from its first non-blank character
      let start = 0;
      while (start < chars.length && /\s/.test(chars[start])) start++;
      let end = chars.length;
      while (end > start && /\s/.test(chars[end - 1])) end--;
      return [start, end];
    }
    // a parse error points at a token: a word (a name, a number) or a single character
    const start = Math.min(Math.max(position.column - 1, 0), chars.length);
    let end = Math.min(start + 1, chars.length);
    if (start < chars.length && /[\p{L}\p{N}_]/u.test(chars[start])) {
      while (end < chars.length && /[\p{L}\p{N}_]/u.test(chars[end])) end++;
    }
    return [start, end];
  }

  function renderEditor() {
    const lines = mappingBox.value.split("\n");
    let marks = "";
    let numbers = "";
    lines.forEach((text, index) => {
      const lineNo = index + 1;
      const bad = errorPosition !== null && errorPosition.line === lineNo;
      numbers += `<div${bad ? ' class="bad"' : ""}>${lineNo}</div>`;
      let html = escapeHtml(text);
      if (bad) {
        const chars = Array.from(text);
        const [start, end] = failingSpan(chars, errorPosition);
        const marked = end > start ? escapeHtml(chars.slice(start, end).join("")) : " ";
        html =
          escapeHtml(chars.slice(0, start).join("")) +
          `<mark class="error-span" data-line="${lineNo}" data-column="${start + 1}">${marked}</mark>` +
          escapeHtml(chars.slice(end).join(""));
      }
      marks += `<div class="line${bad ? " bad" : ""}">${html || " "}</div>`;
    });
    backdrop.innerHTML = marks;
    gutter.innerHTML = numbers;
    syncScroll();
  }

  function syncScroll() {
    backdrop.scrollTop = mappingBox.scrollTop;
    backdrop.scrollLeft = mappingBox.scrollLeft;
    gutter.scrollTop = mappingBox.scrollTop;
  }

  mappingBox.addEventListener("scroll", syncScroll);

  // Tab indents instead of leaving the editor
  mappingBox.addEventListener("keydown", (event) => {
    if (event.key !== "Tab" || event.shiftKey || event.ctrlKey || event.altKey || event.metaKey) return;
    event.preventDefault();
    const { selectionStart, selectionEnd, value } = mappingBox;
    mappingBox.value = value.slice(0, selectionStart) + "  " + value.slice(selectionEnd);
    mappingBox.selectionStart = mappingBox.selectionEnd = selectionStart + 2;
    changed();
  });

  // clicking the error puts the cursor where it is
  errorLine.addEventListener("click", () => {
    if (errorPosition === null) return;
    const lines = mappingBox.value.split("\n");
    let offset = 0;
    for (let i = 0; i < errorPosition.line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
    const line = lines[errorPosition.line - 1] || "";
    const chars = Array.from(line).slice(0, Math.max(errorPosition.column - 1, 0));
    offset += chars.join("").length;
    mappingBox.focus();
    mappingBox.setSelectionRange(offset, offset);
  });

  // --- running the mapping ------------------------------------------------------------------

  function setStatus(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  function showMetadata(metadata) {
    const body = outputMeta.tBodies[0];
    body.textContent = "";
    const keys = metadata ? Object.keys(metadata).sort() : [];
    for (const key of keys) {
      const row = body.insertRow();
      const keyCell = row.insertCell();
      keyCell.className = "key";
      keyCell.textContent = key;
      const valueCell = row.insertCell();
      valueCell.className = "value";
      const value = metadata[key];
      valueCell.textContent = typeof value === "string" ? value : JSON.stringify(value);
    }
    outputMetaEmpty.hidden = keys.length > 0;
  }

  function showError(text) {
    errorLine.textContent = text;
    errorLine.hidden = false;
    output.textContent = text;
    output.className = "output failed";
  }

  function showResponse(res) {
    errorPosition = res.error_position || null;
    output.className = "output";
    errorLine.hidden = true;
    if (res.parse_error) {
      showError(res.parse_error.trimEnd());
      setStatus("parse-error", "parse error");
      showMetadata(null);
    } else if (res.mapping_error) {
      showError(res.mapping_error);
      setStatus("mapping-error", "mapping error");
      showMetadata(null);
    } else if (res.deleted) {
      output.textContent = "(the mapping deleted the message)";
      output.className = "output deleted";
      setStatus("deleted", "deleted");
      showMetadata(null);
    } else {
      output.textContent = res.result;
      setStatus("ok", "ok");
      showMetadata(res.metadata);
    }
    renderEditor();
  }

  function readMetadata() {
    const text = metadataBox.value.trim();
    if (text === "") return {};
    let value;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new Error("input metadata is not valid JSON: " + err.message);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new Error("input metadata must be a JSON object of keys and values");
    }
    return value;
  }

  async function run() {
    if (inFlight) {
      again = true;
      return;
    }
    let metadata;
    try {
      metadata = readMetadata();
      metadataError.hidden = true;
    } catch (err) {
      metadataError.textContent = err.message;
      metadataError.hidden = false;
      setStatus("input-error", "metadata error");
      return;
    }
    inFlight = true;
    setStatus("running", "running");
    try {
      const response = await fetch("execute", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ mapping: mappingBox.value, input: inputBox.value, metadata }),
      });
      if (!response.ok) {
        errorPosition = null;
        showError(`the server refused the request (${response.status}): ${(await response.text()).trim()}`);
        setStatus("mapping-error", "refused");
        renderEditor();
      } else {
        showResponse(await response.json());
      }
    } catch (err) {
      setStatus("input-error", "server unreachable");
    } finally {
      inFlight = false;
    }
    if (again) {
      again = false;
      run();
    }
  }

  function changed() {
    renderEditor();
    clearTimeout(timer);
    timer = setTimeout(() => {
      run();
      saveToLink();
    }, TYPE_DELAY_MS);
  }

  for (const box of [mappingBox, inputBox, metadataBox]) box.addEventListener("input", changed);

  window.addEventListener("hashchange", async () => {
    if (await loadFromLink()) {
      renderEditor();
      run();
    }
  });

  async function start() {
    const initial = JSON.parse($("initial-state").textContent);
    applyState(initial);
    await loadFromLink();
    renderEditor();
    run();
  }

  start();
})();
