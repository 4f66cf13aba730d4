/* The stall's phone page: tap a product, quantity, price, payment, confirm.
 * Every sale gets a token here and goes into a queue in localStorage first; the queue
 * is sent in order whenever the connection allows, each sale exactly once by its token
 * (the server returns the recorded sale for a token it already has). A service worker
 * keeps the page, its data and scripts, so the page also opens without a connection. */
(function () {
  "use strict";
  var root = document.getElementById("stall");
  if (!root) return;
  var d = root.dataset;
  var QUEUE_KEY = "stall-queue-" + d.fairId;
  var state = { data: null, product: null, method: null, syncing: false, csrf: d.csrf };
  var $ = function (id) { return document.getElementById(id); };

  function msg(key) { return d["msg" + key.charAt(0).toUpperCase() + key.slice(1)] || key; }

  function queue() {
    try { return JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]"); } catch (e) { return []; }
  }
  function saveQueue(q) { localStorage.setItem(QUEUE_KEY, JSON.stringify(q)); }

  function newToken() {
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  /* yuan text -> integer fen, never through a float */
  function toFen(text) {
    var m = /^\s*(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(text || "");
    if (!m) return null;
    var cents = (m[2] || "").padEnd(2, "0");
    return parseInt(m[1], 10) * 100 + parseInt(cents, 10);
  }
  function yuan(fen) {
    var s = String(fen).padStart(3, "0");
    return s.slice(0, -2) + "." + s.slice(-2);
  }

  function say(text, kind) {
    var el = $("message");
    el.textContent = text || "";
    el.className = "small mb-2 text-" + (kind || "muted");
  }

  function setConnection() {
    var el = $("conn");
    if (navigator.onLine) { el.textContent = msg("online"); el.className = "badge bg-success"; }
    else { el.textContent = msg("offline"); el.className = "badge bg-secondary"; }
  }

  function render() {
    var data = state.data;
    var q = queue();
    document.querySelector("[data-testid=pending-count]").textContent = String(q.length);
    if (!data) return;
    var pendingFen = q.reduce(function (sum, s) { return sum + s.total; }, 0);
    var totalFen = (toFen(data.totals.amount) || 0) + pendingFen;
    document.querySelector("[data-testid=stall-total]").textContent = yuan(totalFen);
    document.querySelector("[data-testid=stall-count]").textContent =
      String(data.totals.orders + q.length);
    var open = data.fair.status === "open" && data.fair.stall_status === "admitted";
    $("closed-note").classList.toggle("d-none", open);
    var list = $("products");
    list.textContent = "";
    data.products.forEach(function (p) {
      var left = p.available - q.reduce(function (n, s) {
        return n + (s.lines[0].product_id === p.id ? s.lines[0].quantity : 0);
      }, 0);
      var b = document.createElement("button");
      b.type = "button";
      b.className = "btn btn-outline-dark text-start";
      b.dataset.testid = "product";
      b.dataset.productId = p.id;
      b.disabled = !open || left <= 0;
      b.textContent = p.name + "  ¥" + p.price + "/" + p.unit + "  (" + msg("left") + " " + left + ")";
      b.addEventListener("click", function () { choose(p); });
      list.appendChild(b);
    });
    var sales = $("sales");
    sales.textContent = "";
    q.slice().reverse().forEach(function (s) {
      sales.appendChild(saleItem(s.label, yuan(s.total), s.payment_method, "pending", msg("pending")));
    });
    data.sales.forEach(function (s) {
      var li = saleItem(
        s.lines.map(function (l) { return l.name + " ×" + l.quantity; }).join("，"),
        s.total, s.payment_method, s.voided ? "voided" : "synced",
        s.voided ? msg("voided") : (s.late ? msg("late") : s.number));
      if (!s.voided && open) li.appendChild(voidControls(s));
      sales.appendChild(li);
    });
  }

  function saleItem(label, total, method, st, note) {
    var li = document.createElement("li");
    li.className = "list-group-item small" + (st === "voided" ? " text-decoration-line-through text-muted" : "");
    li.dataset.testid = "sale";
    li.dataset.state = st;
    var line = document.createElement("div");
    line.textContent = label + " · ¥" + total + " · " + msg(method) + " · " + note;
    li.appendChild(line);
    return li;
  }

  function voidControls(sale) {
    var box = document.createElement("div");
    box.className = "mt-1";
    var open = document.createElement("button");
    open.type = "button";
    open.className = "btn btn-sm btn-outline-danger";
    open.dataset.testid = "void";
    open.textContent = msg("void");
    open.addEventListener("click", function () {
      open.classList.add("d-none");
      var input = document.createElement("input");
      input.className = "form-control form-control-sm my-1";
      input.placeholder = msg("voidReason");
      input.setAttribute("aria-label", msg("voidReason"));
      input.dataset.testid = "void-reason";
      var go = document.createElement("button");
      go.type = "button";
      go.className = "btn btn-sm btn-danger";
      go.dataset.testid = "confirm-void";
      go.textContent = msg("confirmVoid");
      go.addEventListener("click", function () { voidSale(sale.id, input.value); });
      box.appendChild(input);
      box.appendChild(go);
      input.focus();
    });
    box.appendChild(open);
    return box;
  }

  function choose(p) {
    state.product = p;
    state.method = null;
    $("entry").classList.remove("d-none");
    $("entry-name").textContent = p.name;
    $("qty").value = "1";
    $("price").value = p.price;
    $("price-hint").textContent = "¥" + p.min_price + " – ¥" + p.price;
    Array.prototype.forEach.call(document.querySelectorAll(".pay"), function (b) {
      b.classList.remove("active");
    });
  }

  function confirmSale() {
    var p = state.product;
    if (!p) return;
    var qty = parseInt($("qty").value, 10);
    if (!(qty > 0) || String(qty) !== $("qty").value.trim()) { say(msg("badQty"), "danger"); return; }
    var price = toFen($("price").value);
    if (price === null) { say(msg("badPrice"), "danger"); return; }
    if (!state.method) { say(msg("choosePayment"), "danger"); return; }
    var q = queue();
    q.push({
      token: newToken(),
      payment_method: state.method,
      made_at: new Date().toISOString(),
      lines: [{ product_id: p.id, quantity: qty, unit_price: price }],
      total: price * qty,
      label: p.name + " ×" + qty
    });
    saveQueue(q);
    state.product = null;
    $("entry").classList.add("d-none");
    say(navigator.onLine ? msg("recorded") : msg("queued"), "success");
    render();
    sync();
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": state.csrf
      },
      body: JSON.stringify(body)
    });
  }

  function load() {
    return fetch(d.dataUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (data) {
        state.data = data;
        if (data.csrf_token) state.csrf = data.csrf_token;
        render();
        return data;
      });
  }

  /* Send the queue in order. A sale leaves the queue once the server answered for it
   * (recorded now, recorded before, or refused with a reason); a network failure or a
   * server error keeps it for the next try. */
  function sync() {
    if (state.syncing || !queue().length || !navigator.onLine) { render(); return Promise.resolve(); }
    state.syncing = true;
    var refused = [];
    function next() {
      var q = queue();
      if (!q.length) return Promise.resolve();
      var sale = q[0];
      var body = { token: sale.token, payment_method: sale.payment_method, made_at: sale.made_at, lines: sale.lines };
      return post(d.saleUrl, body).then(function (r) {
        var json = (r.headers.get("content-type") || "").indexOf("application/json") === 0;
        // not an answer about this sale (logged out, form expired, server trouble): keep it
        if (!json || r.redirected || r.status === 400 || r.status === 401 || r.status === 403 || r.status >= 500) {
          throw new Error("HTTP " + r.status);
        }
        return r.json().then(function (answer) {
          if (!r.ok) refused.push(sale.label + "：" + (answer.error || r.status));
          saveQueue(queue().filter(function (s) { return s.token !== sale.token; }));
          return next();
        });
      });
    }
    return load().catch(function () { return null; })
      .then(next)
      .catch(function () { /* offline again: the queue waits */ })
      .then(function () {
        state.syncing = false;
        if (refused.length) say(msg("rejected") + "：" + refused.join("；"), "danger");
        return load().catch(function () { render(); });
      });
  }

  function voidSale(id, reason) {
    post(d.voidUrl.replace(/\/0\/void$/, "/" + id + "/void"), { reason: reason })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (answer) {
          if (!r.ok) say(answer.error || ("HTTP " + r.status), "danger");
          else say(msg("voided"), "success");
          return load();
        });
      })
      .catch(function () { say(msg("offline"), "danger"); });
  }

  function cacheForOffline() {
    if (!("serviceWorker" in navigator) || !window.caches) return;
    navigator.serviceWorker.register(d.swUrl, { scope: d.swScope }).then(function () {
      var urls = [location.pathname, d.dataUrl].concat(d.assets.split(" "));
      return caches.open("stall-v1").then(function (cache) { return cache.addAll(urls); });
    }).catch(function () { /* the page still works online */ });
  }

  Array.prototype.forEach.call(document.querySelectorAll(".pay"), function (b) {
    b.addEventListener("click", function () {
      state.method = b.dataset.method;
      Array.prototype.forEach.call(document.querySelectorAll(".pay"), function (o) {
        o.classList.toggle("active", o === b);
      });
    });
  });
  $("confirm").addEventListener("click", confirmSale);
  $("cancel-entry").addEventListener("click", function () {
    state.product = null;
    $("entry").classList.add("d-none");
  });
  window.addEventListener("online", function () { setConnection(); sync(); });
  window.addEventListener("offline", function () { setConnection(); render(); });
  setInterval(function () { if (queue().length) sync(); }, 10000);

  setConnection();
  render();
  load().then(sync).catch(function () { render(); });
  cacheForOffline();
})();
