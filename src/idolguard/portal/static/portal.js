/* The report form: solve the proof-of-work challenge in the browser, send the report to the JSON API, show
   per-field errors in the page's language, then open the receipt (the secret status page). No content is
   ever fetched or shown. */
"use strict";
(function () {
  var form = document.getElementById("report");
  if (!form) return;
  var errorsBox = document.getElementById("errors");
  var working = document.getElementById("working");
  var button = document.getElementById("send");
  var lang = form.dataset.lang;

  function browserToken() {
    try {
      var token = window.localStorage.getItem("idolguard-reporter");
      if (!token) {
        var bytes = new Uint8Array(18);
        window.crypto.getRandomValues(bytes);
        token = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
        window.localStorage.setItem("idolguard-reporter", token);
      }
      return token;
    } catch (e) { return null; }
  }

  function solve(token, bits) {
    return new Promise(function (resolve) {
      var counter = 0;
      function chunk() {
        var end = counter + 20000;
        for (; counter < end; counter++) {
          if (IdolGuardSha256.leadingZeroBits(IdolGuardSha256.digestWords(token + ":" + counter)) >= bits) {
            resolve(String(counter));
            return;
          }
        }
        setTimeout(chunk, 0);
      }
      chunk();
    });
  }

  function showErrors(errors) {
    errorsBox.textContent = "";
    var title = document.createElement("p");
    title.textContent = form.dataset.errorTitle;
    errorsBox.appendChild(title);
    var list = document.createElement("ul");
    Object.keys(errors).forEach(function (field) {
      errors[field].forEach(function (err) {
        var item = document.createElement("li");
        item.className = "error-" + field;
        item.textContent = (err.index !== undefined ? form.dataset.line + " " + (err.index + 1) + ": " : "") + err.message;
        list.appendChild(item);
      });
    });
    errorsBox.appendChild(list);
    errorsBox.hidden = false;
    errorsBox.focus && errorsBox.focus();
  }

  function done() { button.disabled = false; working.hidden = true; }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    errorsBox.hidden = true;
    button.disabled = true;
    working.hidden = false;
    var urls = document.getElementById("urls").value.split(/\r?\n/).map(function (u) { return u.trim(); })
      .filter(function (u) { return u.length > 0; });
    var checked = form.querySelector("input[name=category]:checked");
    var report = {
      urls: urls,
      category: checked ? checked.value : "",
      artist: document.getElementById("artist").value,
      note: document.getElementById("note").value || null,
      contact: document.getElementById("contact").value || null
    };
    var token = browserToken();
    if (token) report.reporter_token = token;
    var headers = { "Content-Type": "application/json", "Accept-Language": lang };
    fetch("/api/challenge", { headers: headers, credentials: "omit" })
      .then(function (r) {
        if (!r.ok) return r.json().then(function (body) { throw body; });
        return r.json();
      })
      .then(function (ch) {
        return solve(ch.token, ch.bits).then(function (solution) {
          report.challenge = { token: ch.token, solution: solution };
          return fetch("/api/reports", { method: "POST", headers: headers, body: JSON.stringify(report), credentials: "omit" });
        });
      })
      .then(function (r) {
        return r.json().then(function (body) {
          if (r.status === 201) {
            var path = new URL(body.status_url, window.location.href).pathname;
            window.location.assign(path + "?new=1&lang=" + encodeURIComponent(lang));
            return;
          }
          done();
          showErrors(body.errors || { body: [{ message: form.dataset.unavailable }] });
        });
      })
      .catch(function (body) {
        done();
        showErrors((body && body.errors) || { body: [{ message: form.dataset.unavailable }] });
      });
  });
})();
