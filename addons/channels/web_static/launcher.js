// The web chat on the service's site. A page includes this file with one async <script> tag
// (docs/embed-example.html; data-label="…" sets the button's text) and gets a button in the
// corner that opens the chat page in a frame: full screen on a phone, a panel on a larger
// screen. The chat's address is this file's own, so one tag works on every page. Built with DOM
// APIs and styled through the CSSOM (element.style), which a site's Content-Security-Policy
// allows where it refuses style attributes and <style> elements; a shadow root keeps the
// site's CSS out.
(function () {
  "use strict";

  var script = document.currentScript; // only set while this file runs
  if (!script || !script.src || document.getElementById("nettrouble-webchat")) {
    return; // not loaded by a tag, or included twice
  }
  var CHAT_URL = new URL("./", script.src).href;
  var CHAT_ORIGIN = new URL(CHAT_URL).origin;
  var LABEL = (script.getAttribute("data-label") || "").trim().slice(0, 30) || "チャットで相談する";
  var TITLE = "ネットトラブルあんしんサポート チャット窓口";
  // Written in by the server from business/service.yml.
  var CENTRE_LINE = "__CENTRE_LINE__";
  // Messages of the chat page (chat.js) and to it.
  var READY = "nettrouble-webchat:ready";
  var CLOSE = "nettrouble-webchat:close";
  var FOCUS = "nettrouble-webchat:focus";
  // The chat page says it is ready at once; a frame that loaded without saying so was refused
  // (an origin not in WEB_CHAT_ALLOWED_ORIGINS) or failed.
  var READY_WAIT_MS = 3000;
  var BRAND = "#b8002e";
  var FONT = '"Hiragino Sans", "Hiragino Kaku Gothic ProN", "Noto Sans JP", "Yu Gothic", Meiryo, sans-serif';
  var phone = window.matchMedia("(max-width: 600px)");

  var host, button, panel, frame, notice;
  var opened = false;
  var ready = false;

  function restyle(element, properties) {
    Object.keys(properties).forEach(function (name) {
      element.style.setProperty(name, properties[name]);
    });
  }

  function styled(tag, properties) {
    var element = document.createElement(tag);
    restyle(element, properties);
    return element;
  }

  function layout() {
    if (phone.matches) {
      restyle(panel, { top: "0", left: "0", right: "0", bottom: "0", width: "auto", height: "auto",
        "border-radius": "0" });
    } else {
      restyle(panel, { top: "auto", left: "auto", right: "16px", bottom: "84px",
        width: "min(400px, calc(100vw - 32px))", height: "min(640px, calc(100vh - 108px))",
        "border-radius": "12px" });
    }
    restyle(panel, { display: opened ? "flex" : "none" });
    // On a phone the open chat covers the button: out of the Tab order until it closes.
    restyle(button, { display: opened && phone.matches ? "none" : "block" });
  }

  function focusChat() {
    frame.focus();
    if (ready) {
      frame.contentWindow.postMessage(FOCUS, CHAT_ORIGIN);
    }
  }

  function showUnavailable() {
    if (notice) {
      return;
    }
    notice = styled("div", { padding: "16px", color: "#1f1f1f", "font-size": "16px", "line-height": "1.6" });
    notice.setAttribute("role", "alert");
    var text = document.createElement("p");
    text.textContent = "申し訳ございません。ここではチャットを表示できませんでした。";
    var link = styled("a", { color: "#0645ad" });
    link.href = CHAT_URL;
    link.target = "_blank";
    link.rel = "noopener";
    link.textContent = "チャット窓口を新しいタブで開く";
    var centre = document.createElement("p");
    centre.textContent = CENTRE_LINE;
    notice.appendChild(text);
    notice.appendChild(link);
    notice.appendChild(centre);
    restyle(frame, { display: "none" });
    panel.appendChild(notice);
    if (opened) {
      link.focus();
    }
  }

  function createFrame() {
    frame = styled("iframe", { flex: "1", width: "100%", border: "0", display: "block", background: "#fff" });
    frame.title = TITLE;
    frame.src = CHAT_URL;
    frame.addEventListener("load", function () {
      window.setTimeout(function () {
        if (!ready) {
          showUnavailable();
        }
      }, READY_WAIT_MS);
    });
    panel.appendChild(frame);
  }

  function open() {
    opened = true;
    if (!frame) {
      createFrame(); // on first use only; kept when closed, so the conversation stays
    }
    button.setAttribute("aria-expanded", "true");
    layout();
    if (notice) {
      notice.querySelector("a").focus();
    } else {
      focusChat(); // its input takes the focus once the page says it is ready
    }
  }

  function close() {
    opened = false;
    button.setAttribute("aria-expanded", "false");
    layout();
    button.focus();
  }

  function build() {
    host = document.createElement("div");
    host.id = "nettrouble-webchat";
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;

    button = styled("button", { position: "fixed", right: "16px", bottom: "calc(16px + env(safe-area-inset-bottom, 0px))",
      "z-index": "2147483000", "min-height": "52px", padding: "0 20px", border: "2px solid #fff",
      "border-radius": "26px", background: BRAND, color: "#fff", font: "bold 16px/1.4 " + FONT,
      "box-shadow": "0 2px 10px rgba(0, 0, 0, 0.35)", cursor: "pointer" });
    button.type = "button";
    button.textContent = LABEL;
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", "nettrouble-webchat-panel");
    button.addEventListener("click", function () {
      if (opened) {
        close();
      } else {
        open();
      }
    });

    panel = styled("div", { position: "fixed", "z-index": "2147483001", "flex-direction": "column",
      background: "#fff", overflow: "hidden", "box-shadow": "0 4px 24px rgba(0, 0, 0, 0.35)" });
    panel.id = "nettrouble-webchat-panel";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", TITLE);

    var bar = styled("div", { display: "flex", "align-items": "center", "justify-content": "space-between",
      gap: "8px", padding: "4px 8px 4px 12px", background: BRAND, color: "#fff", font: "bold 15px/1.4 " + FONT });
    var name = document.createElement("span");
    name.textContent = "ネットトラブルあんしんサポート";
    var closer = styled("button", { "min-height": "44px", "min-width": "44px", padding: "0 12px",
      border: "2px solid #fff", "border-radius": "8px", background: "transparent", color: "#fff",
      font: "bold 15px/1.4 " + FONT, cursor: "pointer" });
    closer.type = "button";
    closer.textContent = "閉じる";
    closer.setAttribute("aria-label", "チャットを閉じる");
    closer.addEventListener("click", close);
    bar.appendChild(name);
    bar.appendChild(closer);
    panel.appendChild(bar);

    // Escape in the button or the bar; inside the frame, chat.js asks for it (CLOSE).
    host.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && opened) {
        event.preventDefault();
        close();
      }
    });
    window.addEventListener("message", function (event) {
      if (!frame || event.source !== frame.contentWindow || event.origin !== CHAT_ORIGIN) {
        return;
      }
      if (event.data === READY) {
        ready = true;
        if (notice) { // a slow start, not a refusal
          panel.removeChild(notice);
          notice = null;
          restyle(frame, { display: "block" });
        }
        if (opened) {
          focusChat();
        }
      } else if (event.data === CLOSE && opened) {
        close();
      }
    });
    if (phone.addEventListener) {
      phone.addEventListener("change", layout);
    } else {
      phone.addListener(layout); // Safari before 14
    }

    root.appendChild(button);
    root.appendChild(panel);
    layout();
    document.body.appendChild(host);
  }

  if (document.body) {
    build();
  } else {
    document.addEventListener("DOMContentLoaded", build);
  }
})();
