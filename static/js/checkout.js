// Checkout: show only the chosen delivery part (address or pick-up point) and its total.
// Progressive: without this script both parts stay on the page and the form works as is;
// the CSS (app.css, .checkout.js) does the showing and hiding.
(function () {
  var form = document.querySelector("form.checkout");
  if (!form) return;
  var radios = form.querySelectorAll('input[name="delivery_method"]');
  function sync() {
    var chosen = form.querySelector('input[name="delivery_method"]:checked');
    form.dataset.method = chosen ? chosen.value : "";
  }
  radios.forEach(function (radio) { radio.addEventListener("change", sync); });
  sync();
  form.classList.add("js");
})();
