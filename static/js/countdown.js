// Payment countdowns on the order list: each [data-countdown] holds the UTC deadline
// (ISO 8601); its text becomes "mm:ss" left, then the data-expired text. The server
// decides expiry; this only shows the time left.
(function () {
  "use strict";
  var items = document.querySelectorAll("[data-countdown]");
  if (!items.length) {
    return;
  }
  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }
  function tick() {
    var now = Date.now();
    items.forEach(function (item) {
      var left = Math.floor((Date.parse(item.dataset.countdown) - now) / 1000);
      if (isNaN(left)) {
        return;
      }
      item.textContent = left > 0
        ? "\u23F1 " + pad(Math.floor(left / 60)) + ":" + pad(left % 60)
        : item.dataset.expired;
    });
  }
  tick();
  window.setInterval(tick, 1000);
})();
