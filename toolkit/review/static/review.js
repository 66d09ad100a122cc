// Keyboard shortcuts for the review page. Every action also has a button or
// link, so the page works without this file; it never builds HTML.
(function () {
  "use strict";

  var sent = false;

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable) return true;
    return tag === "INPUT" && ["checkbox", "radio", "submit", "button"].indexOf(el.type) < 0;
  }

  function follow(rel) {
    var link = document.querySelector(".itemnav a[rel=" + rel + "]");
    if (link) window.location.assign(link.href);
  }

  function press(key) {
    var button = document.querySelector("button[data-key=" + key + "]");
    if (button && !sent) button.click();
  }

  function toggle(id) {
    var el = document.getElementById(id);
    if (el) el.open = !el.open;
    return el;
  }

  function openEditor() {
    var box = document.getElementById("edit");
    var text = document.getElementById("edit-text");
    if (!box || !text) return;
    box.open = true;
    text.focus();
  }

  // Queue page: j/k move a highlighted row, Enter or o opens it.
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-href]"));
  var current = -1;
  function moveRow(step) {
    if (!rows.length) return;
    if (current >= 0) rows[current].classList.remove("current");
    current = Math.max(0, Math.min(rows.length - 1, current + step));
    rows[current].classList.add("current");
    rows[current].scrollIntoView({ block: "nearest" });
  }

  // One submission per page: a second key press must not post a stale version.
  document.addEventListener("submit", function (ev) {
    if (sent) ev.preventDefault();
    sent = true;
  });

  window.addEventListener("pageshow", function () {
    sent = false;
  });

  document.addEventListener("keydown", function (ev) {
    var target = ev.target;
    if (typing(target)) {
      if (ev.key === "Escape") {
        target.blur();
        ev.preventDefault();
      } else if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && target.form) {
        ev.preventDefault();
        target.form.requestSubmit();
      }
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var page = document.body.dataset.page;
    var key = ev.key;
    if (key === "?") {
      toggle("help");
    } else if (key === "Escape") {
      var help = document.getElementById("help");
      if (help) help.open = false;
    } else if (key === "g") {
      toggle("guidelines");
    } else if (page === "item" && (key === "a" || key === "r" || key === "n")) {
      press(key);
    } else if (page === "item" && key === "e") {
      openEditor();
    } else if (page === "item" && (key === "j" || key === "k")) {
      follow(key === "j" ? "next" : "prev");
    } else if (page === "item" && /^[1-9]$/.test(key)) {
      var box = document.querySelector("input[data-index='" + key + "']");
      if (box) box.checked = !box.checked;
    } else if (page === "queue" && (key === "j" || key === "k")) {
      moveRow(key === "j" ? 1 : -1);
    } else if (page === "queue" && (key === "Enter" || key === "o") && current >= 0) {
      window.location.assign(rows[current].dataset.href);
    } else {
      return;
    }
    ev.preventDefault();
  });
})();
