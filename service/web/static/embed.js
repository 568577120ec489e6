/*
 * Comment section for a site's article page.
 *
 *   <section id="moderation-comments"></section>
 *   <script src="https://moderation.example/static/embed.js" data-site="my-paper"
 *           data-article="budget-2027" data-target="moderation-comments" async></script>
 *
 * The page's origin must be in the site's allowed origins. No key is involved: the form
 * posts to the site's public form endpoint. Comments are always inserted with textContent,
 * never as HTML.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var api = new URL(script.src, document.baseURI).origin;
  var site = script.dataset.site;
  var article = script.dataset.article;
  var root = document.getElementById(script.dataset.target || "moderation-comments");
  if (!root || !site || !article) return;
  var storeKey = "moderation:" + site + ":" + article;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // What the reader is told for each refusal (error.code); the API's own messages are written
  // for developers ("body holds an invisible character (U+200B)").
  var FIELD_NAMES = { body: "Your comment", author_name: "Your name" };
  function readable(error) {
    var what = FIELD_NAMES[error && error.field] || "Your comment";
    switch (error && error.code) {
      case "empty":
        return error.field === "author_name" ? "Please enter your name." : "Please write a comment first.";
      case "too_long":
      case "request_too_large":
        return what + " is too long; please shorten it.";
      case "control_characters":
      case "invisible_characters":
      case "bidi_control_characters":
      case "invalid_unicode":
        return what + " contains a hidden or control character we cannot accept; please retype it.";
      case "rate_limited":
        return "You are sending comments too quickly; please wait a few minutes and try again.";
      case "origin_not_allowed":
        return "Comments cannot be posted from this page.";
      default:
        return "Your comment could not be sent; please try again.";
    }
  }

  function say(text, isError) {
    formStatus.textContent = text;
    formStatus.className = isError ? "cm-status cm-error" : "cm-status";
    formStatus.setAttribute("role", isError ? "alert" : "status");
  }

  function siteUrl(path) {
    return api + "/v1/sites/" + encodeURIComponent(site) + path;
  }

  var heading = el("h2", "cm-heading", "Comments");
  var list = el("ol", "cm-list");
  var empty = el("p", "cm-empty", "No comments yet. Be the first.");
  var mine = el("div", "cm-mine");
  mine.setAttribute("aria-live", "polite");

  var form = el("form", "cm-form");
  form.noValidate = false;
  var formTitle = el("h3", "cm-form-title", "Please enter your comment");
  var bodyLabel = el("label", "cm-label", "Your comment");
  var body = el("textarea", "cm-body");
  body.name = "body";
  body.rows = 5;
  body.required = true;
  body.maxLength = 5000;
  bodyLabel.appendChild(body);
  var nameLabel = el("label", "cm-label", "Your name");
  var name = el("input", "cm-name");
  name.name = "author_name";
  name.required = true;
  name.maxLength = 100;
  name.autocomplete = "name";
  nameLabel.appendChild(name);
  var submit = el("button", "cm-submit", "Post comment");
  submit.type = "submit";
  var formStatus = el("p", "cm-status");
  formStatus.setAttribute("role", "status");
  form.append(formTitle, bodyLabel, nameLabel, submit, formStatus);
  root.append(heading, mine, list, empty, form);

  function renderComment(comment) {
    var item = el("li", "cm-comment");
    item.dataset.id = comment.id;
    var meta = el("p", "cm-meta");
    meta.appendChild(el("span", "cm-author", comment.author_name));
    var when = el("time", "cm-time", new Date(comment.created_at).toLocaleString());
    when.dateTime = comment.created_at;
    meta.appendChild(when);
    item.append(meta, el("p", "cm-text", comment.body));
    return item;
  }

  function loadComments() {
    var url = api + "/v1/articles/" + encodeURIComponent(article) + "/comments?site=" +
      encodeURIComponent(site) + "&limit=100";
    return fetch(url).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    }).then(function (page) {
      list.replaceChildren.apply(list, page.comments.map(renderComment));
      empty.hidden = page.comments.length > 0;
    }).catch(function () {
      empty.hidden = false;
      empty.textContent = "Comments could not be loaded just now.";
    });
  }

  // The reader's own comments still waiting, kept in this browser only.
  function readMine() {
    try { return JSON.parse(localStorage.getItem(storeKey) || "[]"); } catch (e) { return []; }
  }
  function writeMine(entries) {
    try { localStorage.setItem(storeKey, JSON.stringify(entries)); } catch (e) { /* private mode */ }
  }

  function showMine() {
    var entries = readMine();
    mine.replaceChildren.apply(mine, entries.map(function (entry) {
      var note = el("div", "cm-pending");
      note.dataset.id = entry.id;
      note.appendChild(el("p", "cm-pending-title", "Your comment is awaiting moderation."));
      note.appendChild(el("p", "cm-text", entry.body));
      return note;
    }));
  }

  function checkMine(round) {
    var entries = readMine();
    if (!entries.length) return;
    Promise.all(entries.map(function (entry) {
      return fetch(siteUrl("/form-comments/" + encodeURIComponent(entry.id)))
        .then(function (r) { return r.ok ? r.json() : { status: "not_published" }; })
        .catch(function () { return { status: "awaiting_moderation" }; });
    })).then(function (states) {
      var waiting = entries.filter(function (_, i) { return states[i].status === "awaiting_moderation"; });
      var published = states.some(function (s) { return s.status === "published"; });
      var dropped = entries.length - waiting.length - states.filter(function (s) { return s.status === "published"; }).length;
      writeMine(waiting);
      showMine();
      // One poll can see several of the reader's comments decided at once: say so for each.
      if (published && dropped > 0) {
        formStatus.textContent = "One of your comments is published; another was not published.";
        loadComments();
      } else if (published) {
        formStatus.textContent = "Your comment is published.";
        loadComments();
      } else if (dropped > 0) {
        formStatus.textContent = "Your comment was not published.";
      }
      // Poll gently for a few minutes after posting; the page can always be reloaded.
      if (waiting.length && round < 90) {
        setTimeout(function () { checkMine(round + 1); }, round < 30 ? 2000 : 10000);
      }
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submit.disabled = true;
    say("Sending…", false);
    var text = body.value;
    fetch(siteUrl("/form-comments"), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ article_id: article, author_name: name.value, body: text })
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      if (!result.ok) {
        say(readable(result.data && result.data.error), true);
        return;
      }
      var entries = readMine();
      entries.push({ id: result.data.id, body: text.trim() });
      writeMine(entries);
      body.value = "";
      say("Thank you. Your comment is awaiting moderation.", false);
      showMine();
      setTimeout(function () { checkMine(0); }, 1500);
    }).catch(function () {
      say("Your comment could not be sent; please try again.", true);
    }).finally(function () {
      submit.disabled = false;
    });
  });

  loadComments();
  showMine();
  checkMine(0);
})();
