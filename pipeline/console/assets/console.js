// The console's few lines of script, no library: a fragment (data-src) loads after the
// page and asks again while it says so (data-again: seconds) or always (data-every on
// its container); it reloads the page when what the page waits for is done
// (data-reload); a form, or a submit button, with data-confirm asks first. Every page works without it,
// less live. A load made again on its own says so (X-Poll), so that a page left open
// does not keep its session alive.
(function () {
  "use strict";
  function load(el, poll) {
    var headers = { "X-Fragment": "1" };
    if (poll) {
      headers["X-Poll"] = "1";
    }
    fetch(el.dataset.src, { headers: headers, credentials: "same-origin" })
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
          setTimeout(function () { load(el, true); }, every * 1000);
        }
      })
      .catch(function () {
        setTimeout(function () { load(el, true); }, 5000);
      });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-src]").forEach(function (el) { load(el, false); });
    // The button pressed may ask (Remove beside Save), else the form.
    document.querySelectorAll("form").forEach(function (f) {
      f.addEventListener("submit", function (e) {
        var ask = (e.submitter && e.submitter.dataset.confirm) || f.dataset.confirm;
        if (ask && !window.confirm(ask)) {
          e.preventDefault();
        }
      });
    });
  });
})();
