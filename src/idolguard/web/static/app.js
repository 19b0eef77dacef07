// IdolGuard pages: small progressive enhancements, no inline script (CSP), no third-party code.
"use strict";
(function () {
  const csrf = document.body.dataset.csrf || "";

  // Live custody badge on the item page.
  const badge = document.getElementById("custody-badge");
  if (badge) {
    fetch(badge.dataset.url, { headers: { Accept: "application/json" } })
      .then((r) => r.json())
      .then((j) => {
        const ok = j.ok;
        badge.textContent = document.getElementById(ok ? "custody-ok-text" : "custody-bad-text").textContent + " (" + j.entries + ")";
        badge.classList.add(ok ? "good" : "bad");
        badge.dataset.state = ok ? "ok" : "broken";
      })
      .catch(() => { badge.dataset.state = "error"; });
  }

  // Forms that end something (disable a user, revoke a token) ask first.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (e) => {
      if (!window.confirm(form.dataset.confirm)) e.preventDefault();
    });
  });

  // A revealed original disappears when its grant expires.
  const revealed = document.getElementById("revealed");
  if (revealed) {
    const left = new Date(revealed.dataset.expires).getTime() - Date.now();
    setTimeout(() => { revealed.remove(); }, Math.max(left, 0));
  }

  // Triage keyboard shortcuts.
  const queue = document.getElementById("queue");
  if (queue) {
    const rows = Array.from(queue.querySelectorAll("tbody tr[data-sha]"));
    let at = rows.length ? 0 : -1;
    const focus = (i) => {
      if (!rows.length) return;
      rows.forEach((r) => r.classList.remove("focus"));
      at = Math.max(0, Math.min(rows.length - 1, i));
      rows[at].classList.add("focus");
      rows[at].scrollIntoView({ block: "nearest" });
    };
    focus(0);
    const keys = { c: "confirmed_abuse", n: "not_our_artist", a: "authentic", d: "duplicate", r: "in_review" };
    const bulk = document.getElementById("bulk");
    document.addEventListener("keydown", (e) => {
      if (e.target.closest("input, select, textarea") || e.ctrlKey || e.metaKey || e.altKey || at < 0) return;
      const row = rows[at];
      if (e.key === "j") focus(at + 1);
      else if (e.key === "k") focus(at - 1);
      else if (e.key === "x") { const box = row.querySelector("input[type=checkbox]"); box.checked = !box.checked; }
      else if (e.key === "o") window.location.href = row.querySelector("a.open").href;
      else if (keys[e.key] && bulk && document.getElementById("bulk-action")) {
        rows.forEach((r) => { r.querySelector("input[type=checkbox]").checked = r === row; });
        document.getElementById("bulk-action").value = keys[e.key];
        bulk.submit();
      } else return;
      e.preventDefault();
    });
  }

  // Intake: drag and drop, upload with a progress bar, then follow the job.
  const drop = document.getElementById("dropzone");
  const upload = document.getElementById("upload-form");
  if (drop && upload) {
    const input = upload.querySelector("input[type=file]");
    ["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
    ["dragleave", "drop"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
    drop.addEventListener("drop", (e) => { input.files = e.dataTransfer.files; });
    upload.addEventListener("submit", (e) => {
      e.preventDefault();
      const xhr = new XMLHttpRequest();
      const bar = document.getElementById("upload-progress");
      bar.classList.remove("hidden");
      xhr.upload.addEventListener("progress", (p) => { if (p.lengthComputable) bar.value = p.loaded / p.total; });
      xhr.addEventListener("load", () => {
        if (xhr.status === 200 && xhr.responseURL) window.location.href = xhr.responseURL;
        else { document.open(); document.write(xhr.responseText); document.close(); }
      });
      xhr.open("POST", upload.action);
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.send(new FormData(upload));
    });
  }

  // Job page: poll progress until done.
  const job = document.getElementById("job");
  if (job && !["done", "error"].includes(job.dataset.state)) {
    const tick = () => fetch(job.dataset.url, { headers: { Accept: "application/json" } })
      .then((r) => r.json())
      .then((j) => {
        const bar = document.getElementById("job-progress");
        bar.max = Math.max(j.total, 1); bar.value = j.done;
        document.getElementById("job-state").textContent = j.state_label;
        if (j.state === "done" || j.state === "error") window.location.reload();
        else setTimeout(tick, 1000);
      });
    setTimeout(tick, 1000);
  }
})();
