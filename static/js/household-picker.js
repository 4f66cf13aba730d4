// The certification application's household picker. Without this script the form's own
// search and add buttons re-show the page; with it, a search asks the server
// (data-search-url, JSON: the vendor's own households, names masked) and each result's
// "添加" button appends "code,1" to the households textarea at once.
(function () {
  "use strict";
  var picker = document.querySelector("[data-household-picker]");
  if (!picker) {
    return;
  }
  var form = picker.closest("form");
  var lines = form.querySelector("textarea[name=households]");
  var query = picker.querySelector("input[name=pick_q]");
  var searchButton = picker.querySelector("[data-picker-search]");
  var results = picker.querySelector("[data-picker-results]");
  // the words, translated by the page (data-t-* on the picker)
  var text = {
    code: picker.dataset.tCode,
    village: picker.dataset.tVillage,
    head: picker.dataset.tHead,
    add: picker.dataset.tAdd,
    added: picker.dataset.tAdded,
    none: picker.dataset.tNone,
    more: picker.dataset.tMore,
    failed: picker.dataset.tFailed
  };


  function listed() {
    var codes = {};
    lines.value.split(/\r?\n/).forEach(function (line) {
      var head = line.replace(/\uff0c/g, ",").replace(/\t/g, ",").split(",")[0].trim().split(/\s+/)[0];
      if (head) {
        codes[head] = true;
      }
    });
    return codes;
  }

  function add(code, button) {
    if (!listed()[code]) {
      var kept = lines.value.replace(/\s+$/, "");
      lines.value = (kept ? kept + "\n" : "") + code + ",1";
    }
    button.disabled = true;
    button.textContent = text.added;
  }

  function cell(row, value, className) {
    var td = document.createElement("td");
    td.textContent = value;
    if (className) {
      td.className = className;
    }
    row.appendChild(td);
    return td;
  }

  function show(data) {
    results.textContent = "";
    if (!data.households.length) {
      var none = document.createElement("p");
      none.className = "small text-muted mb-0";
      none.textContent = text.none;
      results.appendChild(none);
      return;
    }
    var present = listed();
    var wrap = document.createElement("div");
    wrap.className = "table-responsive picker-list";
    var table = document.createElement("table");
    table.className = "table table-sm align-middle mb-1";
    var head = table.createTHead().insertRow();
    [text.code, text.village, text.head, ""].forEach(function (title) {
      var th = document.createElement("th");
      th.scope = "col";
      th.textContent = title;
      head.appendChild(th);
    });
    var body = table.createTBody();
    data.households.forEach(function (h) {
      var row = body.insertRow();
      row.setAttribute("data-testid", "pick-row");
      cell(row, h.code, "text-nowrap");
      cell(row, h.village);
      cell(row, h.name, "text-nowrap");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-sm btn-outline-success";
      button.setAttribute("data-pick", h.code);
      button.textContent = text.add;
      if (present[h.code]) {
        button.disabled = true;
        button.textContent = text.added;
      }
      button.addEventListener("click", function () {
        add(h.code, button);
      });
      cell(row, "", "text-end").appendChild(button);
    });
    wrap.appendChild(table);
    results.appendChild(wrap);
    if (data.more) {
      var more = document.createElement("p");
      more.className = "small text-muted mb-1";
      more.textContent = text.more;
      results.appendChild(more);
    }
  }

  function search() {
    var url = picker.dataset.searchUrl + "?q=" + encodeURIComponent(query.value.trim());
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(show)
      .catch(function () {
        results.textContent = text.failed;
      });
  }

  searchButton.addEventListener("click", function (event) {
    event.preventDefault();
    search();
  });
  query.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      search();
    }
  });
  search();
})();
