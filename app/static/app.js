// Progressive enhancement for the builders' pages; everything works without it.
(function () {
  "use strict";

  function sizeLabel(bytes) {
    if (bytes < 1024) { return bytes + " B"; }
    if (bytes < 1024 * 1024) { return (bytes / 1024).toFixed(1) + " KB"; }
    return (bytes / 1024 / 1024).toFixed(1) + " MB";
  }

  function setupNewSite(form) {
    var input = form.querySelector("#files");
    var list = form.querySelector("#file-feedback");
    var note = form.querySelector("#data_source_note");
    var zone = form.querySelector("#drop-zone");
    var submit = form.querySelector("button[type=submit]");
    var maxFile = Number(form.dataset.maxFileMb) * 1024 * 1024;
    var maxFiles = Number(form.dataset.maxFiles);
    var maxUpload = Number(form.dataset.maxUploadMb) * 1024 * 1024;
    var accepted = form.dataset.accepted.split(",");
    var noteTouched = note.value.trim() !== "";
    note.addEventListener("input", function () { noteTouched = true; });

    function check() {
      list.textContent = "";
      var files = Array.prototype.slice.call(input.files);
      var total = 0;
      var problems = 0;
      files.forEach(function (file) {
        var item = document.createElement("li");
        var ext = "." + file.name.split(".").pop().toLowerCase();
        var problem = "";
        if (accepted.indexOf(ext) < 0) { problem = "not an accepted type (" + accepted.join(", ") + ")"; }
        else if (file.size === 0) { problem = "empty"; }
        else if (file.size > maxFile) { problem = "larger than " + form.dataset.maxFileMb + " MB"; }
        total += file.size;
        item.textContent = file.name + " · " + sizeLabel(file.size) + (problem ? " · " + problem : " · ok");
        item.className = problem ? "file-bad" : "file-ok";
        if (problem) { problems += 1; }
        list.appendChild(item);
      });
      if (files.length > maxFiles) {
        var many = document.createElement("li");
        many.className = "file-bad";
        many.textContent = "Too many files: at most " + maxFiles + ".";
        list.appendChild(many);
        problems += 1;
      }
      if (total > maxUpload) {
        var big = document.createElement("li");
        big.className = "file-bad";
        big.textContent = "Together the files are larger than " + form.dataset.maxUploadMb + " MB.";
        list.appendChild(big);
        problems += 1;
      }
      submit.disabled = problems > 0;
      if (!noteTouched) {
        note.value = files.length ? "Uploaded files: " + files.map(function (f) { return f.name; }).join(", ") + "." : "";
      }
    }
    input.addEventListener("change", check);
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.add("dragging"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("dragging"); });
    });
    form.addEventListener("submit", function () { submit.disabled = true; submit.textContent = "Uploading…"; });
    check();
  }

  function setupProgress(card) {
    var url = card.dataset.statusUrl;
    var steps = card.querySelectorAll("li.step");
    var message = document.getElementById("job-message");

    function show(state) {
      var reached = true;
      steps.forEach(function (li) {
        var step = li.dataset.step;
        var here = step === state.step || (state.step === "repairing" && step === "checking");
        var current = state.status === "running" && here;
        li.classList.toggle("failed", state.status === "failed" && here);
        if (state.status === "failed" && here) { reached = false; }
        li.classList.toggle("current", current);
        if (current) { li.setAttribute("aria-current", "step"); reached = false; } else { li.removeAttribute("aria-current"); }
        li.classList.toggle("done", state.status === "succeeded" ||
          (reached && (state.status === "running" || state.status === "failed") && !current && !li.classList.contains("failed")));
      });
      var choice = document.getElementById("template-choice");
      if (choice && state.template_choice) {
        choice.textContent = state.template_choice.message;
        choice.hidden = false;
      }
      if (state.status === "queued") { message.textContent = "Waiting to start…"; }
      if (state.status === "running") { message.textContent = "Working: " + state.step + "…"; }
      if (state.status === "succeeded") {
        message.textContent = "Done: version " + state.version + " is ready.";
        document.getElementById("preview-link").href = state.preview_url;
        document.getElementById("job-done").hidden = false;
      }
      if (state.status === "failed") {
        message.textContent = "It did not work this time.";
        document.getElementById("job-error").textContent = state.error || "";
        document.getElementById("job-failed").hidden = false;
      }
      return state.status === "queued" || state.status === "running";
    }

    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (state) { if (show(state)) { setTimeout(poll, 1000); } })
        .catch(function () { setTimeout(poll, 3000); });
    }
    poll();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("new-site-form");
    if (form) { setupNewSite(form); }
    var card = document.getElementById("progress");
    if (card) { setupProgress(card); }
  });
})();
