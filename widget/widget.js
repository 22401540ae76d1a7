/* <stripe-connections>: the loader. Defines the custom element at once; the wasm (and its glue) is
 * loaded from this script's own directory on the first element connected. Attributes:
 * session-token, base-url (default: this script's origin), locale (en, it; default: the
 * browser's languages), closable. Events: ready, connect, error,
 * close (CustomEvent, details are plain objects). */
(function () {
  "use strict";
  var me = document.currentScript;
  var src = me && me.src ? me.src : location.href;
  var assets = new URL("widget/", src).href;
  var origin = new URL(src).origin;
  var loading = null;
  // The full-page fallback (popup blocked) comes back to the host page with
  // ?stripe_connections=connect&connection_id=…&account_name=… (or =error&code=…): reported once,
  // by the first element mounted, and removed from the address bar.
  var returned = (function () {
    var url = new URL(location.href);
    var q = url.searchParams;
    var outcome = q.get("stripe_connections");
    if (!outcome) return null;
    var event =
      outcome === "connect"
        ? { type: "connect", detail: { connection_id: Number(q.get("connection_id")), account_name: q.get("account_name") || "" } }
        : { type: "error", detail: { code: q.get("code") || "unknown", message: "Connecting Stripe failed (" + (q.get("code") || "unknown") + ")." } };
    ["stripe_connections", "connection_id", "account_name", "code"].forEach(function (k) {
      q.delete(k);
    });
    history.replaceState(history.state, "", url.href);
    return event;
  })();
  function load() {
    if (!loading) {
      loading = import(assets + "stripe_connections.js").then(function (m) {
        return m.default({ module_or_path: assets + "stripe_connections_bg.wasm" }).then(function () {
          return m;
        });
      });
    }
    return loading;
  }
  class StripeConnections extends HTMLElement {
    static get observedAttributes() {
      return ["session-token", "base-url", "locale"];
    }
    connectedCallback() {
      this._render();
    }
    disconnectedCallback() {
      this._turn = (this._turn || 0) + 1;
      this._drop();
    }
    attributeChangedCallback() {
      if (this.isConnected) this._render();
    }
    _drop() {
      if (this._widget) {
        this._widget.free();
        this._widget = null;
      }
    }
    _render() {
      var el = this;
      var turn = (el._turn = (el._turn || 0) + 1);
      load().then(
        function (m) {
          if (turn !== el._turn || !el.isConnected) return;
          el._drop();
          var base = (el.getAttribute("base-url") || origin).replace(/\/+$/, "");
          try {
            var baseOrigin = new URL(base).origin;
            el._widget = m.mount(el, base, baseOrigin, el.getAttribute("session-token") || "", assets);
            if (returned) {
              el.dispatchEvent(new CustomEvent(returned.type, { detail: returned.detail }));
              returned = null;
            }
          } catch (e) {
            el.dispatchEvent(new CustomEvent("error", { detail: { code: "invalid_base_url", message: String(e) } }));
          }
        },
        function (e) {
          el.dispatchEvent(new CustomEvent("error", { detail: { code: "load_failed", message: String(e) } }));
        }
      );
    }
  }
  if (!customElements.get("stripe-connections")) {
    customElements.define("stripe-connections", StripeConnections);
  }
})();
