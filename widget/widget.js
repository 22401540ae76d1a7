/* <stripe-connections>: the loader. Defines the custom element at once; the wasm (and its glue) is
 * loaded from this script's own directory on the first element connected. Attributes:
 * session-token, base-url (default: this script's origin), closable. Events: ready, connect, error,
 * close (CustomEvent, details are plain objects). */
(function () {
  "use strict";
  var me = document.currentScript;
  var src = me && me.src ? me.src : location.href;
  var assets = new URL("widget/", src).href;
  var origin = new URL(src).origin;
  var loading = null;
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
      return ["session-token", "base-url"];
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
            el._widget = m.mount(el, base, el.getAttribute("session-token") || "", assets);
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
