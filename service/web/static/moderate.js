/* Moderator UI: buttons and keyboard shortcuts over the moderation API.
 * j/k move, a approve, r reject (needs a reason), x select, o open. User text is only ever
 * set with textContent. */
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var toastBox = document.getElementById("toast");
  var toastTimer = null;
  var current = null;

  function toast(message, isError) {
    toastBox.textContent = message;
    toastBox.className = isError ? "show error" : "show";
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toastBox.className = ""; }, 3500);
  }

  function items() {
    return Array.prototype.slice.call(document.querySelectorAll(".item:not(.done)"));
  }

  function select(item) {
    if (current) current.classList.remove("current");
    current = item || null;
    if (current) {
      current.classList.add("current");
      current.focus({ preventScroll: true });
      current.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    var list = items();
    if (!list.length) return;
    var index = list.indexOf(current);
    select(list[Math.max(0, Math.min(list.length - 1, index + step))] || list[0]);
  }

  function reasonOf(item) {
    var free = item.querySelector(".reason-text");
    var chosen = item.querySelector(".reason-select");
    return (free && free.value.trim()) || (chosen && chosen.value) || "";
  }

  function post(url, payload) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(payload)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          throw new Error((data.error && data.error.message) || ("HTTP " + response.status));
        }
        return data;
      });
    });
  }

  var DONE = { approve: "Approved", reject: "Rejected", remove: "Taken down", restore: "Restored" };

  function finish(item, action) {
    var list = items();
    var next = list[list.indexOf(item) + 1] || list[list.indexOf(item) - 1];
    item.classList.add("done");
    item.querySelector(".outcome").textContent = DONE[action];
    var counter = document.querySelector(".count");
    if (counter) counter.textContent = String(Math.max(0, Number(counter.textContent) - 1));
    if (!document.body.querySelector(".items.single")) {
      setTimeout(function () { item.remove(); }, 600);
      select(next && next !== item ? next : null);
    }
  }

  // The last single action, for undo (the API puts the comment back where it was, if no one
  // has moved it since). Undone, the page reloads to show the comment where it now is.
  var undoBar = document.getElementById("undo");
  var lastDone = null;

  function offerUndo(item, action) {
    lastDone = { id: item.dataset.id, action: action };
    var text = (item.querySelector(".body") || {}).textContent || "";
    undoBar.querySelector(".what").textContent = DONE[action] + ": " + text.slice(0, 60);
    undoBar.hidden = false;
  }

  function undo() {
    if (!lastDone) return;
    var done = lastDone;
    lastDone = null;
    undoBar.hidden = true;
    post("/v1/moderation/comments/" + encodeURIComponent(done.id) + "/undo", { reason: null })
      .then(function () {
        try { sessionStorage.setItem("moderation-toast", "Undone."); } catch (e) { /* private mode */ }
        window.location.reload();
      })
      .catch(function (error) { toast(error.message, true); });
  }

  if (undoBar) undoBar.querySelector("button").addEventListener("click", undo);
  try {
    var flash = sessionStorage.getItem("moderation-toast");
    if (flash) { sessionStorage.removeItem("moderation-toast"); toast(flash); }
  } catch (e) { /* private mode */ }

  function act(item, action) {
    if (!item || item.classList.contains("done")) return;
    var reason = reasonOf(item);
    if ((action === "reject" || action === "remove") && !reason) {
      var picker = item.querySelector(".reason-select") || item.querySelector(".reason-text");
      if (picker) picker.focus();
      toast("Pick a reason first, then press Enter or r.", true);
      return;
    }
    item.classList.add("busy");
    post("/v1/moderation/comments/" + encodeURIComponent(item.dataset.id) + "/" + action,
      { reason: reason || null })
      .then(function () {
        toast(DONE[action] + ".");
        finish(item, action);
        offerUndo(item, action);
      })
      .catch(function (error) { toast(error.message, true); })
      .finally(function () { item.classList.remove("busy"); });
  }

  function bulk(action) {
    var picked = items().filter(function (item) { return item.querySelector(".pick:checked"); });
    if (!picked.length) { toast("Select comments first (x or the checkboxes).", true); return; }
    var reason = (document.getElementById("bulk-reason") || {}).value || "";
    if (action === "reject" && !reason) {
      document.getElementById("bulk-reason").focus();
      toast("Pick a reason for the rejection.", true);
      return;
    }
    post("/v1/moderation/bulk", {
      action: action,
      comment_ids: picked.map(function (item) { return item.dataset.id; }),
      reason: reason || null
    }).then(function (result) {
      var done = {};
      result.done.forEach(function (d) { done[d.id] = true; });
      picked.forEach(function (item) { if (done[item.dataset.id]) finish(item, action); });
      var failed = Object.keys(result.failed).length;
      toast(DONE[action] + ": " + result.done.length + (failed ? ", " + failed + " had already moved" : ""), failed > 0);
    }).catch(function (error) { toast(error.message, true); });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    if (button) {
      var item = button.closest(".item");
      select(item);
      act(item, button.dataset.action);
      return;
    }
    var item = event.target.closest(".item");
    if (item && event.target.tagName !== "A") select(item);
  });

  var pickAll = document.getElementById("pick-all");
  if (pickAll) {
    pickAll.addEventListener("change", function () {
      items().forEach(function (item) { item.querySelector(".pick").checked = pickAll.checked; });
    });
  }
  var bulkApprove = document.getElementById("bulk-approve");
  if (bulkApprove) bulkApprove.addEventListener("click", function () { bulk("approve"); });
  var bulkReject = document.getElementById("bulk-reject");
  if (bulkReject) bulkReject.addEventListener("click", function () { bulk("reject"); });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var inField = /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName) && target.type !== "checkbox";
    if (inField) {
      var item = target.closest(".item");
      if (event.key === "Enter" && item) {
        event.preventDefault();
        act(item, item.dataset.status === "held" ? "reject" : (item.dataset.status === "approved" ? "remove" : "restore"));
      } else if (event.key === "Escape") {
        target.blur();
        if (item) select(item);
      }
      return;
    }
    var key = event.key;
    if (key === "j") { move(1); }
    else if (key === "k") { move(-1); }
    else if (key === "a" && current && current.dataset.status === "held") { act(current, "approve"); }
    else if (key === "r" && current && current.dataset.status === "held") { act(current, "reject"); }
    else if (key === "u" && lastDone) { undo(); }
    else if (key === "x" && current) {
      var box = current.querySelector(".pick");
      if (box) box.checked = !box.checked;
    }
    else if (key === "o" && current) {
      var link = current.querySelector("a.open");
      if (link) window.location.href = link.href;
    }
    else { return; }
    event.preventDefault();
  });

  select(items()[0]);
})();
