// Acme BI's admin page: asks its own backend for a connect session, then puts the Connections
// widget on the page and writes every event it emits into the "Widget events" list.
"use strict";

(function () {
  var base = document.querySelector('meta[name="connections-url"]').content;
  var params = new URLSearchParams(location.search);
  var list = document.getElementById("events");
  var slot = document.getElementById("widget-slot");

  // One line per event: its name, its detail as JSON (also in data-detail for tests).
  function record(name, detail) {
    var item = document.createElement("li");
    var json = JSON.stringify(detail === undefined ? null : detail);
    item.dataset.event = name;
    item.dataset.detail = json;
    var time = document.createElement("time");
    time.textContent = new Date().toLocaleTimeString();
    var label = document.createElement("strong");
    label.textContent = name;
    var text = document.createElement("code");
    text.textContent = json;
    item.append(time, " ", label, " ", text);
    list.append(item);
  }

  // What the page's own Content-Security-Policy blocked, if anything (the widget must need nothing
  // the policy does not allow).
  document.addEventListener("securitypolicyviolation", function (e) {
    record("csp-violation", {
      directive: e.effectiveDirective,
      blocked: e.blockedURI,
      source: e.sourceFile,
    });
  });

  // The token: from our backend (which holds the host key), or `?token=` to show a bad one.
  function sessionToken() {
    if (params.has("token")) {
      return Promise.resolve(params.get("token"));
    }
    var url = "/session";
    if (params.has("org")) {
      url += "?org=" + encodeURIComponent(params.get("org"));
    }
    return fetch(url, { method: "POST" }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) {
          throw new Error(body.error || "the session could not be opened");
        }
        record("host:session", { organization: body.organization, expires_at: body.expires_at });
        return body.token;
      });
    });
  }

  function mount(token) {
    var widget = document.createElement("stripe-connections");
    ["ready", "connect", "error", "close"].forEach(function (name) {
      widget.addEventListener(name, function (e) {
        record(name, e.detail);
      });
    });
    widget.setAttribute("session-token", token);
    widget.setAttribute("base-url", base);
    slot.replaceChildren(widget);
    var missing = setTimeout(function () {
      record("host:error", { message: "the widget did not load from " + base + "/widget.js" });
    }, 15000);
    customElements.whenDefined("stripe-connections").then(function () {
      clearTimeout(missing);
    });
  }

  sessionToken().then(mount, function (e) {
    record("host:error", { message: e.message });
  });
})();
