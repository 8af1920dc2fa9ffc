// The console's few lines of script, no library: a fragment (data-src) loads after the
// page and asks again while it says so (data-again: seconds) or always (data-every on
// its container); it reloads the page when what the page waits for is done
// (data-reload); a form with data-confirm asks first. Every page works without it,
// less live.
(function () {
  "use strict";
  function load(el) {
    fetch(el.dataset.src, { headers: { "X-Fragment": "1" }, credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 401) {
          location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
          return null;
        }
        return r.text();
      })
      .then(function (html) {
        if (html === null) {
          return;
        }
        el.innerHTML = html;
        if (el.querySelector("[data-reload]")) {
          location.reload();
          return;
        }
        var again = el.querySelector("[data-again]");
        var every = again ? again.dataset.again : el.dataset.every;
        if (every) {
          setTimeout(function () { load(el); }, every * 1000);
        }
      })
      .catch(function () {
        setTimeout(function () { load(el); }, 5000);
      });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-src]").forEach(load);
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (e) {
        if (!window.confirm(f.dataset.confirm)) {
          e.preventDefault();
        }
      });
    });
  });
})();
