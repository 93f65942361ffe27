/* pyvirt manager: live updates over one WebSocket, sparklines, small helpers. */
"use strict";
const PV = (() => {
  const HISTORY = 60;
  const series = {};           // key -> array of numbers
  const eventAt = {};          // "host/name" -> time of the last lifecycle event
  const EVENT_WINS_MS = 2500;  // a stats sample older than an event must not undo it

  function push(key, value) {
    const s = series[key] || (series[key] = []);
    s.push(value);
    if (s.length > HISTORY) s.shift();
    return s;
  }

  function draw(canvas, lines, max) {
    if (!canvas) return;
    const ctx = canvas.getContext("2d");
    const w = canvas.width, h = canvas.height;
    ctx.clearRect(0, 0, w, h);
    const top = max || Math.max(1, ...lines.flatMap(l => l.data));
    ctx.strokeStyle = "#e4e8f0";
    ctx.lineWidth = 1;
    for (const frac of [0.25, 0.5, 0.75]) {
      ctx.beginPath();
      ctx.moveTo(0, Math.round(h * frac) + 0.5);
      ctx.lineTo(w, Math.round(h * frac) + 0.5);
      ctx.stroke();
    }
    for (const line of lines) {
      const d = line.data;
      if (!d.length) continue;
      const xs = d.map((_, i) => w - (d.length - 1 - i) * (w / (HISTORY - 1)));
      const ys = d.map(v => h - 2 - (Math.min(v, top) / top) * (h - 4));
      ctx.beginPath();
      ctx.moveTo(xs[0], h);
      xs.forEach((x, i) => ctx.lineTo(x, ys[i]));
      ctx.lineTo(xs[xs.length - 1], h);
      ctx.closePath();
      ctx.globalAlpha = 0.15;
      ctx.fillStyle = line.color;
      ctx.fill();
      ctx.globalAlpha = 1;
      ctx.beginPath();
      xs.forEach((x, i) => i ? ctx.lineTo(x, ys[i]) : ctx.moveTo(x, ys[i]));
      ctx.strokeStyle = line.color;
      ctx.lineWidth = 1.5;
      ctx.stroke();
      ctx.beginPath();          // the latest sample, visible from the first one on
      ctx.arc(xs[xs.length - 1] - 2, ys[ys.length - 1], 2, 0, 2 * Math.PI);
      ctx.fillStyle = line.color;
      ctx.fill();
    }
  }

  function rate(bytes) {
    const units = ["B/s", "KiB/s", "MiB/s", "GiB/s"];
    let i = 0;
    while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i++; }
    return bytes.toFixed(i ? 1 : 0) + " " + units[i];
  }

  /* The page's rows (and VM heading) by "host/name", indexed once: a stats message
     for 500 VMs then costs 500 lookups, not 500 scans of the document. */
  let rowIndex = null;
  function rowsFor(host, name) {
    if (!rowIndex) {
      rowIndex = new Map();
      document.querySelectorAll("[data-host] tr[data-domain], #domain-head[data-host][data-domain]")
        .forEach(el => {
          const key = el.closest("[data-host]").dataset.host + "/" + el.dataset.domain;
          if (!rowIndex.has(key)) rowIndex.set(key, []);
          rowIndex.get(key).push(el);
        });
    }
    return rowIndex.get(host + "/" + name) || [];
  }

  function setState(el, text, cls) {
    const badge = el.querySelector('[data-field="state"]');
    if (!badge) return;
    badge.textContent = text;
    badge.className = "state state-" + cls;
  }

  function showButtons(cls) {
    document.querySelectorAll("#lifecycle form[data-states]").forEach(form => {
      form.hidden = !form.dataset.states.split(" ").includes(cls);
    });
  }

  function status(text, kind) {
    const box = document.getElementById("live-status");
    if (!box) return;
    box.hidden = !text;
    box.textContent = text || "";
    box.className = "live-status " + (kind || "");
  }

  function onLifecycle(msg) {
    eventAt[msg.host + "/" + msg.domain] = Date.now();
    const found = rowsFor(msg.host, msg.domain);
    const listed = document.querySelector(`table[data-host="${msg.host}"]`);
    if (!found.length && listed && ["Defined", "Started"].includes(msg.event)) {
      status(`VM '${msg.domain}' ${msg.event.toLowerCase()} — reload to see it`, "info");
    }
    found.forEach(el => {
      setState(el, msg.state, msg.state_class);
      if (el.id === "domain-head") {
        showButtons(msg.state_class);
        status(`${msg.domain}: ${msg.event} — now ${msg.state}`,
               msg.state_class === "gone" ? "warn" : "info");
      }
    });
  }

  function onStats(msg) {
    const count = document.getElementById("running-count");
    if (count && +count.dataset.host === msg.host) {
      count.textContent = Object.values(msg.domains)
        .filter(st => st.state_class !== "shutoff").length;
    }
    for (const [name, st] of Object.entries(msg.domains)) {
      const fresh = Date.now() - (eventAt[msg.host + "/" + name] || 0) > EVENT_WINS_MS;
      rowsFor(msg.host, name).forEach(el => {
        if (fresh) {
          setState(el, st.state, st.state_class);
          if (el.id === "domain-head") showButtons(st.state_class);
        }
        const key = msg.host + "/" + name;
        const cpu = push(key + "/cpu", st.cpu);
        const cpuText = el.querySelector('[data-field="cpu"]');
        if (cpuText && el.id !== "domain-head") cpuText.textContent = st.cpu.toFixed(1) + "%";
        draw(el.querySelector("canvas.spark"), [{data: cpu, color: "#2f80ed"}], 100);
      });
      const head = document.getElementById("domain-head");
      if (head && head.dataset.domain === name && +head.dataset.host === msg.host) {
        graphs(msg.host + "/" + name, st);
      }
    }
  }

  function graphs(key, st) {
    const field = f => document.querySelector(`.graph [data-field="${f}"]`);
    draw(document.getElementById("g-cpu"), [{data: series[key + "/cpu"] || [], color: "#2f80ed"}], 100);
    field("cpu").textContent = st.cpu.toFixed(1) + "%";
    const mem = push(key + "/mem", st.mem_kib / 1024);
    draw(document.getElementById("g-mem"), [{data: mem, color: "#27ae60"}], st.max_mem_kib / 1024);
    field("mem").textContent = Math.round(st.mem_kib / 1024) + " MiB";
    const rd = push(key + "/rd", st.disk_rd), wr = push(key + "/wr", st.disk_wr);
    draw(document.getElementById("g-disk"), [{data: rd, color: "#9b51e0"}, {data: wr, color: "#f2994a"}]);
    field("disk").textContent = "r " + rate(st.disk_rd) + " · w " + rate(st.disk_wr);
    const rx = push(key + "/rx", st.net_rx), tx = push(key + "/tx", st.net_tx);
    draw(document.getElementById("g-net"), [{data: rx, color: "#2d9cdb"}, {data: tx, color: "#eb5757"}]);
    field("net").textContent = "rx " + rate(st.net_rx) + " · tx " + rate(st.net_tx);
  }

  let socket = null;          // the page's live socket (testHookDropSocket closes it)

  function live(hosts) {
    let delay = 500;
    function connect() {
      const proto = location.protocol === "https:" ? "wss:" : "ws:";
      const ws = socket = new WebSocket(`${proto}//${location.host}/ws?hosts=${hosts.join(",")}`);
      ws.onopen = () => { delay = 500; status(""); document.body.dataset.live = "1"; };
      ws.onmessage = ev => {
        const msg = JSON.parse(ev.data);
        if (msg.type === "lifecycle") onLifecycle(msg);
        else if (msg.type === "stats") onStats(msg);
        else if (msg.type === "error") status(msg.message, "error");
      };
      ws.onclose = () => {
        document.body.dataset.live = "0";
        status("Live updates lost — reconnecting…", "warn");
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 10000);
      };
    }
    connect();
  }

  function listFilter() {
    const input = document.getElementById("filter");
    const all = document.getElementById("select-all");
    if (input) input.addEventListener("input", () => {
      const q = input.value.toLowerCase();
      document.querySelectorAll("#domains tbody tr[data-domain]").forEach(tr => {
        tr.hidden = !tr.dataset.domain.toLowerCase().includes(q);
      });
    });
    if (all) all.addEventListener("change", () => {
      document.querySelectorAll('#domains tbody tr:not([hidden]) input[name="names"]')
        .forEach(box => { box.checked = all.checked; });
    });
  }

  /* Volume upload: XMLHttpRequest streams the file as the body and reports progress. */
  function uploads() {
    document.querySelectorAll("form[data-upload]").forEach(form => {
      form.addEventListener("submit", ev => {
        ev.preventDefault();
        const file = form.querySelector("input[type=file]").files[0];
        const bar = form.querySelector("progress");
        const label = form.querySelector(".upload-status");
        if (!file) { label.textContent = "choose a file first"; return; }
        const xhr = new XMLHttpRequest();
        xhr.open("POST", form.dataset.upload);
        xhr.setRequestHeader("X-CSRF-Token", document.body.dataset.csrf);
        xhr.setRequestHeader("Content-Type", "application/octet-stream");
        bar.hidden = false;
        xhr.upload.onprogress = e => {
          if (e.lengthComputable) {
            bar.value = Math.round(100 * e.loaded / e.total);
            label.textContent = bar.value + "%";
          }
        };
        xhr.onload = () => {
          let reply = {};
          try { reply = JSON.parse(xhr.responseText); } catch (err) { reply = {message: xhr.statusText}; }
          if (reply.ok) location.reload();
          else { label.textContent = reply.message; label.className = "upload-status error-message"; }
        };
        xhr.onerror = () => { label.textContent = "upload failed: connection lost"; };
        xhr.send(file);
      });
    });
  }

  document.addEventListener("submit", ev => {
    const form = ev.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) ev.preventDefault();
  });

  /* Pages say what they need in data attributes (no inline scripts: a strict CSP). */
  const liveHosts = document.body.dataset.liveHosts;
  if (liveHosts) live(liveHosts.split(",").map(Number));
  listFilter();
  uploads();

  function testHookDropSocket() { if (socket) socket.close(); }

  return {live, draw, series, testHookDropSocket};
})();
