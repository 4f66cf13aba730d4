// The Stripe payment page: mounts Stripe's Payment Element and confirms the payment.
// Everything it needs comes from data- attributes on #payment-form (the CSP allows no
// inline script). The order becomes paid on the server only (webhook or retrieve on
// the return page), never because of anything this script does.
(function () {
  "use strict";
  var form = document.getElementById("payment-form");
  if (!form) {
    return;
  }
  var message = document.getElementById("payment-message");
  var button = document.getElementById("pay-button");

  function show(text) {
    message.textContent = text;
    message.classList.remove("d-none");
  }

  if (typeof window.Stripe !== "function" || !form.dataset.publishableKey) {
    show(form.dataset.unavailable);
    button.disabled = true;
    return;
  }
  var stripe = window.Stripe(form.dataset.publishableKey, { locale: form.dataset.locale });
  var elements = stripe.elements({ clientSecret: form.dataset.clientSecret });
  elements.create("payment").mount("#payment-element");

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    message.classList.add("d-none");
    stripe
      .confirmPayment({ elements: elements, confirmParams: { return_url: form.dataset.returnUrl } })
      .then(function (result) {
        // Only reached when the payment could not be confirmed (otherwise the browser
        // has gone to return_url).
        if (result.error) {
          show(result.error.message);
          button.disabled = false;
        }
      });
  });
})();
