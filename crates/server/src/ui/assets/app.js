// rebound admin: small enhancements. Every page also works without them
// (the server asks for confirmation on a page of its own, for example).
(function () {
  "use strict";

  // Destructive buttons carry data-confirm: ask with the browser's dialog,
  // then tell the server it was confirmed.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var button = e.submitter;
    var message = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    var confirmed = form.querySelector('input[name="confirmed"]');
    if (confirmed) confirmed.value = "";
    if (!message) return;
    if (!window.confirm(message)) {
      e.preventDefault();
      return;
    }
    if (confirmed) confirmed.value = "yes";
  });

  // A header checkbox that (un)checks every row of its table.
  document.addEventListener("change", function (e) {
    var box = e.target;
    var name = box.getAttribute && box.getAttribute("data-select-all");
    if (!name) return;
    var scope = box.form || box.closest("form") || document;
    scope.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (b) {
      b.checked = box.checked;
    });
  });

  // Copy buttons next to webhook URLs.
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("[data-copy]");
    if (!button) return;
    var input = document.getElementById(button.getAttribute("data-copy"));
    if (!input) return;
    var done = function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 2000);
    };
    input.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () {
        document.execCommand("copy");
        done();
      });
    } else {
      document.execCommand("copy");
      done();
    }
  });

  // After a refused save, take keyboard and screen-reader users to the list of errors.
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.setAttribute("tabindex", "-1");
    summary.focus();
  }
})();
