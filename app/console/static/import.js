// The import page's progress bar: polls the job's progress four times a second while it runs, and reloads the page
// (with its QA report) once the job has left the running states.
(function () {
  "use strict";
  var job = document.getElementById("job");
  if (!job || !job.dataset.poll) { return; }
  var bar = document.getElementById("job-progress");
  var count = document.getElementById("job-count");
  var status = document.getElementById("job-status");
  var stage = document.getElementById("job-stage");
  function poll() {
    fetch(job.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (d) {
        var p = d.progress || {};
        if (bar && p.total) { bar.max = p.total; bar.value = p.done; }
        if (count && p.total) { count.textContent = p.done + " / " + p.total; }
        if (stage && d.stage_label) { stage.textContent = d.stage_label; }
        if (status) { status.textContent = d.status_label; }
        if (["queued", "reading", "checking", "committing"].indexOf(d.status) < 0) { window.location.reload(); }
        else { window.setTimeout(poll, 250); }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 250);
})();
