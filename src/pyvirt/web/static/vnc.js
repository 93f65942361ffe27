/* The VNC display: noVNC's RFB client over the server's VNC WebSocket bridge. */
import RFB from "/static/vendor/novnc/core/rfb.js";

const screen = document.getElementById("screen");
const statusEl = document.getElementById("vnc-status");
const proto = location.protocol === "https:" ? "wss:" : "ws:";
const rfb = new RFB(screen, proto + "//" + location.host + screen.dataset.ws);
rfb.scaleViewport = true;
rfb.resizeSession = false;
rfb.addEventListener("connect", () => {
  statusEl.textContent = "Connected";
  document.body.dataset.vnc = "connected";
});
rfb.addEventListener("disconnect", ev => {
  statusEl.textContent = ev.detail.clean ? "Disconnected" : "Connection lost";
  document.body.dataset.vnc = "disconnected";
});
rfb.addEventListener("desktopname", ev => { statusEl.textContent = "Connected: " + ev.detail.name; });
window.pyvirtVnc = rfb;
