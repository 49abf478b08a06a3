// The web chat page. Every text (the user's and the bot's) becomes a text node or
// textContent, never HTML; links and case references are elements built with DOM APIs from the
// parts the server has already separated.
(function () {
  "use strict";

  var TOKEN_KEY = "nettrouble.webchat.token";
  var log = document.getElementById("log");
  var status = document.getElementById("status");
  var form = document.getElementById("composer");
  var input = document.getElementById("input");
  var restart = document.getElementById("restart");
  var composing = false;
  // In the site's frame (launcher.js): the page says it is ready, takes the focus when the
  // launcher gives it, and asks the launcher to close on Escape, which never reaches the site.
  var framed = window.parent !== window;
  var memoryToken = null;
  // Messages go out one after another, in the order the user sent them.
  var queue = Promise.resolve();
  var pending = 0;

  function storedToken() {
    try {
      return window.localStorage.getItem(TOKEN_KEY) || memoryToken;
    } catch (e) {
      return memoryToken; // storage blocked (private mode): the conversation lasts until reload
    }
  }

  function storeToken(token) {
    memoryToken = token;
    try {
      if (token) {
        window.localStorage.setItem(TOKEN_KEY, token);
      } else {
        window.localStorage.removeItem(TOKEN_KEY);
      }
    } catch (e) { /* kept in memory only */ }
  }

  function request(method, path, body) {
    var options = { method: method, credentials: "same-origin", headers: {} };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(path, options);
  }

  async function newToken() {
    var response = await request("POST", "session");
    if (!response.ok) {
      throw new Error("session " + response.status);
    }
    var token = (await response.json()).token;
    storeToken(token);
    return token;
  }

  function scrollToEnd() {
    log.scrollTop = log.scrollHeight;
  }

  function bubble(kind) {
    var item = document.createElement("div");
    item.className = "message " + kind;
    var who = document.createElement("span");
    who.className = "visually-hidden";
    who.textContent = kind === "user" ? "あなた：" : kind === "bot" ? "サポート：" : "お知らせ：";
    item.appendChild(who);
    return item;
  }

  function disableChoices() {
    var buttons = log.querySelectorAll("button.choice");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].disabled = true;
    }
  }

  function addPlain(kind, text) {
    var item = bubble(kind);
    var body = document.createElement("p");
    body.className = "text";
    body.textContent = text;
    item.appendChild(body);
    log.appendChild(item);
    scrollToEnd();
  }

  function addUser(text) {
    disableChoices();
    addPlain("user", text);
  }

  function textWithParts(message) {
    var body = document.createElement("p");
    body.className = "text";
    var parts = Array.isArray(message.parts) ? message.parts : [{ type: "text", text: String(message.text || "") }];
    parts.forEach(function (part) {
      var text = String(part.text || "");
      if (part.type === "link" && /^https:\/\//.test(String(part.href || ""))) {
        var link = document.createElement("a");
        link.href = part.href;
        link.textContent = text;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        body.appendChild(link);
      } else if (part.type === "reference") {
        var strong = document.createElement("strong");
        strong.className = "reference-inline";
        strong.textContent = text;
        body.appendChild(strong);
      } else {
        body.appendChild(document.createTextNode(text));
      }
    });
    return body;
  }

  function referenceBox(reference) {
    var box = document.createElement("div");
    box.className = "reference";
    box.setAttribute("role", "note");
    box.setAttribute("aria-label", "受付番号 " + reference);
    var label = document.createElement("span");
    label.className = "reference-label";
    label.textContent = "受付番号";
    var number = document.createElement("span");
    number.className = "reference-number";
    number.textContent = reference;
    var note = document.createElement("span");
    note.className = "reference-note";
    note.textContent = "お電話の際にこの番号をお伝えください。";
    box.appendChild(label);
    box.appendChild(number);
    box.appendChild(note);
    return box;
  }

  function addBot(message) {
    var item = bubble("bot");
    if (message.text) {
      item.appendChild(textWithParts(message));
    }
    (message.references || []).forEach(function (reference) {
      item.appendChild(referenceBox(String(reference)));
    });
    if (message.image && /^https:\/\//.test(String(message.image))) {
      var image = document.createElement("img");
      image.src = message.image;
      image.alt = "サポートからの画像";
      image.className = "image";
      item.appendChild(image);
    }
    var buttons = Array.isArray(message.buttons) ? message.buttons : [];
    if (buttons.length) {
      var group = document.createElement("div");
      group.className = "choices";
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "選択肢");
      buttons.forEach(function (choice) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "choice";
        button.textContent = String(choice.title);
        button.addEventListener("click", function () {
          send(String(choice.payload), String(choice.title), false);
          input.focus();
        });
        group.appendChild(button);
      });
      item.appendChild(group);
    }
    log.appendChild(item);
    scrollToEnd();
  }

  function setBusy(change) {
    pending += change;
    status.textContent = pending > 0 ? "回答を準備しています…" : "";
    log.setAttribute("aria-busy", pending > 0 ? "true" : "false");
  }

  async function deliver(message) {
    var token = storedToken() || (await newToken());
    var response = await request("POST", "webhook", { token: token, message: message });
    if (response.status === 401) {
      // The token is no longer valid (e.g. the server's key changed): a new conversation.
      token = await newToken();
      response = await request("POST", "webhook", { token: token, message: message });
    }
    if (!response.ok) {
      throw new Error("webhook " + response.status);
    }
    return response.json();
  }

  function restoreInput(text) {
    // Nothing the user typed is lost: it goes back into an empty input to edit or resend.
    if (!input.value) {
      input.value = text;
    }
  }

  // shown: what the log displays for the user's message (a button's title; null = nothing).
  // typed: whether the text came from the input, so it can be given back when not accepted.
  function send(message, shown, typed) {
    if (shown !== null) {
      addUser(shown);
    }
    setBusy(1);
    queue = queue.then(async function () {
      try {
        var data = await deliver(message);
        (data.messages || []).forEach(addBot);
        if (data.accepted === false && typed) {
          restoreInput(message);
        }
      } catch (error) {
        addPlain("notice", "送信できませんでした。通信状態をご確認のうえ、もう一度お送りください。");
        if (typed) {
          restoreInput(message);
        }
      } finally {
        setBusy(-1);
      }
    });
    return queue;
  }

  function submitInput() {
    var text = input.value.trim();
    if (!text) {
      input.focus();
      return;
    }
    input.value = "";
    send(text, text, true);
    input.focus();
  }

  function showHistory(entries) {
    entries.forEach(function (entry) {
      if (entry.from === "user") {
        addUser(String(entry.text || ""));
      } else {
        addBot(entry);
      }
    });
  }

  async function start() {
    var token = storedToken();
    if (token) {
      setBusy(1);
      try {
        var response = await request("GET", "history?token=" + encodeURIComponent(token));
        if (response.ok) {
          var entries = (await response.json()).messages || [];
          showHistory(entries);
          if (entries.length) {
            return;
          }
        } else if (response.status === 401) {
          storeToken(null);
        }
      } catch (error) {
        addPlain("notice", "これまでの会話を読み込めませんでした。このままご相談を続けられます。");
        return;
      } finally {
        setBusy(-1);
      }
    }
    send("/greet", null, false);
  }

  input.addEventListener("compositionstart", function () { composing = true; });
  input.addEventListener("compositionend", function () { composing = false; });
  input.addEventListener("keydown", function (event) {
    if (event.key !== "Enter") {
      return;
    }
    // The Enter that confirms a Japanese IME conversion must never send: browsers mark it
    // with isComposing, and Safari with keyCode 229 after compositionend has fired.
    if (event.isComposing || event.keyCode === 229 || composing) {
      return;
    }
    if (event.shiftKey) {
      return; // a new line
    }
    event.preventDefault();
    submitInput();
  });

  if (framed) {
    // The launcher's bar above the frame names the service: the heading stays for screen readers.
    document.querySelector("h1").classList.add("visually-hidden");
    document.addEventListener("keydown", function (event) {
      // An Escape that cancels a Japanese IME conversion is not for the launcher.
      if (event.key === "Escape" && !event.isComposing && event.keyCode !== 229 && !composing) {
        window.parent.postMessage("nettrouble-webchat:close", "*");
      }
    });
    window.addEventListener("message", function (event) {
      if (event.source === window.parent && event.data === "nettrouble-webchat:focus") {
        input.focus();
      }
    });
    // "*": the site's origin is not known here, and the message carries nothing.
    window.parent.postMessage("nettrouble-webchat:ready", "*");
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submitInput();
  });

  restart.addEventListener("click", function () {
    storeToken(null);
    while (log.firstChild) {
      log.removeChild(log.firstChild);
    }
    send("/greet", null, false);
    input.focus();
  });

  start();
})();
