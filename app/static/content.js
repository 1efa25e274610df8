// Content pages (app/web/ui/content.py): annotate mode. Everything works without this script;
// it adds clicking in the page to choose an element, highlights, and saving without a reload.
(function () {
  "use strict";

  function setupAnnotate(root) {
    var frame = document.getElementById("site-frame");
    var form = document.getElementById("comment-form");
    var select = document.getElementById("comment-path");
    var quote = document.getElementById("comment-quote");
    var body = document.getElementById("comment-body");
    var status = document.getElementById("comment-status");
    var openList = document.getElementById("open-comments");
    var meta = document.querySelector('meta[name="csrf-token"]');
    var csrf = meta ? meta.content : "";
    var doc = null;
    var hovered = null;
    var chosen = null;

    document.querySelectorAll(".js-only").forEach(function (el) { el.classList.add("js-ready"); });

    function elementFor(path) {
      if (!doc) { return null; }
      var found = null;
      doc.querySelectorAll("[data-path]").forEach(function (el) {
        if (!found && el.getAttribute("data-path") === path) { found = el; }
      });
      return found;
    }

    function setHover(el) {
      if (hovered === el) { return; }
      if (hovered) { hovered.classList.remove("sw-hover"); }
      hovered = el;
      if (hovered) { hovered.classList.add("sw-hover"); }
    }

    function setChosen(el) {
      if (chosen) { chosen.classList.remove("sw-chosen"); }
      chosen = el;
      if (chosen) { chosen.classList.add("sw-chosen"); }
    }

    function optionFor(path) {
      if (!select) { return null; }
      for (var i = 0; i < select.options.length; i += 1) {
        if (select.options[i].value === path) { return select.options[i]; }
      }
      return null;
    }

    function choose(path, fromPage) {
      var el = elementFor(path);
      setChosen(el);
      if (el && !fromPage) { el.scrollIntoView({ block: "center", behavior: "smooth" }); }
      if (!select) { return; }
      var option = optionFor(path);
      if (!option) { return; }
      select.value = path;
      var text = option.getAttribute("data-quote") || "";
      quote.textContent = text;
      quote.hidden = !text;
      if (fromPage) { body.focus(); }
    }

    function markCommented() {
      if (!doc) { return; }
      doc.querySelectorAll(".sw-commented").forEach(function (el) { el.classList.remove("sw-commented"); });
      document.querySelectorAll("#open-comments .comment").forEach(function (item) {
        var el = elementFor(item.getAttribute("data-path"));
        if (el) { el.classList.add("sw-commented"); }
      });
    }

    function onFrameLoad() {
      try { doc = frame.contentDocument; } catch (e) { doc = null; }
      if (!doc || !doc.body) { return; }
      var link = doc.createElement("link");
      link.rel = "stylesheet";
      link.href = "/static/content.css";
      doc.head.appendChild(link);
      doc.body.classList.add("sw-annotating");
      doc.addEventListener("mouseover", function (event) {
        setHover(event.target.closest ? event.target.closest("[data-path]") : null);
      });
      doc.addEventListener("mouseleave", function () { setHover(null); });
      doc.addEventListener("click", function (event) {
        var el = event.target.closest ? event.target.closest("[data-path]") : null;
        if (!el) { return; }
        event.preventDefault();
        choose(el.getAttribute("data-path"), true);
      }, true);
      markCommented();
      if (select && select.value) { choose(select.value, false); }
    }

    frame.addEventListener("load", onFrameLoad);
    if (frame.contentDocument && frame.contentDocument.readyState === "complete") { onFrameLoad(); }

    if (select) {
      select.addEventListener("change", function () { choose(select.value, false); });
      select.addEventListener("focus", function () { if (select.value) { choose(select.value, false); } });
    }

    document.querySelectorAll("[data-show-path]").forEach(function (button) {
      button.addEventListener("click", function () { choose(button.getAttribute("data-show-path"), false); });
    });

    function commentItem(c) {
      var item = document.createElement("li");
      item.className = "comment comment-open";
      item.setAttribute("data-path", c.path);
      var head = document.createElement("div");
      head.className = "comment-head";
      if (root.dataset.canEdit) {
        var pick = document.createElement("input");
        pick.type = "checkbox";
        pick.name = "annotation_ids";
        pick.value = String(c.id);
        pick.id = "pick-" + c.id;
        pick.setAttribute("aria-label", "Select comment " + c.id + " to apply");
        head.appendChild(pick);
      }
      var pill = document.createElement("span");
      pill.className = "pill pill-open";
      pill.textContent = "open";
      var where = document.createElement("code");
      where.textContent = c.path;
      head.append(pill, " ", where);
      item.appendChild(head);
      if (c.quote) {
        var q = document.createElement("blockquote");
        q.className = "comment-quote";
        q.textContent = c.quote.length > 160 ? c.quote.slice(0, 157) + "…" : c.quote;
        item.appendChild(q);
      }
      var text = document.createElement("p");
      text.className = "comment-body";
      text.textContent = c.body;
      var who = document.createElement("p");
      who.className = "hint";
      who.textContent = c.author_name + " · just now · on version " + c.version;
      item.append(text, who);
      if (root.dataset.canEdit) {
        var actions = document.createElement("div");
        actions.className = "comment-actions";
        var resolve = document.createElement("button");
        resolve.type = "submit";
        resolve.className = "small";
        resolve.textContent = "Resolve";
        resolve.setAttribute("formaction", root.dataset.resolveUrl.replace("/0/resolve", "/" + c.id + "/resolve"));
        actions.appendChild(resolve);
        item.appendChild(actions);
      }
      return item;
    }

    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        if (!select.value || !body.value.trim()) {
          status.textContent = !select.value ? "Choose an element first." : "Write a comment first.";
          return;
        }
        status.textContent = "Saving…";
        fetch(root.dataset.createUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
          body: JSON.stringify({ path: select.value, body: body.value, version: Number(root.dataset.version) })
        }).then(function (response) {
          return response.json().then(function (data) { return { ok: response.ok, data: data }; });
        }).then(function (result) {
          if (!result.ok) {
            status.textContent = (result.data.error && result.data.error.message) || "The comment was not saved.";
            return;
          }
          var empty = document.getElementById("no-open");
          if (empty) { empty.remove(); }
          openList.appendChild(commentItem(result.data));
          var count = document.getElementById("open-count");
          if (count) { count.textContent = String(openList.children.length); }
          body.value = "";
          status.textContent = "Your comment is saved.";
          markCommented();
        }).catch(function () {
          status.textContent = "The comment was not saved: the server could not be reached. Try again.";
        });
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("annotate");
    if (root) { setupAnnotate(root); }
  });
})();
