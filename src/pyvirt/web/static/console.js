/* Serial console: xterm.js (or a plain <pre> fallback) over the console WebSocket. */
"use strict";
(() => {
  const box = document.getElementById("terminal");
  const statusEl = document.getElementById("console-status");
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(proto + "//" + location.host + box.dataset.ws);
  ws.binaryType = "arraybuffer";
  const decoder = new TextDecoder();
  let write, onInput;
  if (window.Terminal) {
    const term = new Terminal({convertEol: true, cursorBlink: true, fontSize: 14});
    term.open(box);
    term.focus();
    write = data => term.write(new Uint8Array(data));
    onInput = fn => term.onData(fn);
  } else {
    const pre = document.createElement("pre");
    pre.className = "plain-console";
    pre.tabIndex = 0;
    box.appendChild(pre);
    write = data => { pre.textContent += decoder.decode(data, {stream: true}); pre.scrollTop = pre.scrollHeight; };
    onInput = fn => pre.addEventListener("keydown", ev => {
      if (ev.key.length === 1) fn(ev.key);
      else if (ev.key === "Enter") fn("\r");
      else if (ev.key === "Backspace") fn("\x7f");
      else return;
      ev.preventDefault();
    });
    pre.focus();
  }
  ws.onopen = () => { statusEl.textContent = "Connected"; };
  ws.onmessage = ev => {
    if (typeof ev.data === "string") {
      const msg = JSON.parse(ev.data);
      statusEl.textContent = msg.message;
      statusEl.className = msg.type === "error" ? "error-message" : "muted";
    } else {
      write(ev.data);
    }
  };
  ws.onclose = () => { if (statusEl.textContent === "Connected") statusEl.textContent = "Disconnected"; };
  onInput(data => { if (ws.readyState === WebSocket.OPEN) ws.send(new TextEncoder().encode(data)); });
})();
