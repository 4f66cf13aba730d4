// The product list's filters fold behind "筛选" so a phone's first screen shows products;
// on a wide screen there is room, so the panel opens. Without this script the panel is
// open only while a filter is in use (the server decides), and one tap opens it.
(function () {
  "use strict";
  var panel = document.querySelector("[data-filter-panel]");
  if (panel && window.matchMedia("(min-width: 768px)").matches) {
    panel.open = true;
  }
})();
