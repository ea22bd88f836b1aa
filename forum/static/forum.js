/* The forum's own small script. Every page works without it; with it, composers get a character counter and a
   Markdown preview, a reply appears without reloading the page, and new replies to an open topic arrive live
   (server-sent events). No framework and no inline script: the Content-Security-Policy allows only this file. */
(function () {
  "use strict";

  var strings = {};
  var stringsNode = document.getElementById("forum-strings");
  if (stringsNode) {
    try { strings = JSON.parse(stringsNode.textContent); } catch (e) { strings = {}; }
  }

  function t(key, values) {
    var text = strings[key] || key;
    Object.keys(values || {}).forEach(function (name) { text = text.split("{" + name + "}").join(values[name]); });
    return text;
  }

  var numberFormat = new Intl.NumberFormat(document.documentElement.lang || "nb");

  /* One polite live region for short announcements (a reply posted, new replies arrived). */
  var announcer = document.createElement("div");
  announcer.className = "visually-hidden";
  announcer.setAttribute("role", "status");
  document.body.appendChild(announcer);
  function announce(text) {
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 50);
  }

  function csrfToken(form) {
    var field = (form && form.querySelector("input[name=csrf_token]")) || document.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  function describe(element, id, on) {
    var ids = (element.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (x) { return x && x !== id; });
    if (on) { ids.push(id); }
    if (ids.length) { element.setAttribute("aria-describedby", ids.join(" ")); } else { element.removeAttribute("aria-describedby"); }
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () { window.clearTimeout(timer); timer = window.setTimeout(fn, ms); };
  }

  async function postJSON(url, body, form) {
    var response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrfToken(form)},
      body: JSON.stringify(body)
    });
    var data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    return {status: response.status, data: data};
  }

  function errorMessage(result) {
    var error = result.data && result.data.error;
    if (!error) { return null; }
    var fields = error.fields || {};
    var first = Object.keys(fields)[0];
    return first ? fields[first] : error.message;
  }

  /* Character counter: visible under the field and read with it (aria-describedby); announced when close to the limit. */
  function addCounter(textarea) {
    var max = parseInt(textarea.getAttribute("maxlength"), 10);
    if (!max || !textarea.id) { return; }
    var counter = document.createElement("p");
    counter.className = "char-count";
    counter.id = textarea.id + "-count";
    textarea.insertAdjacentElement("afterend", counter);
    describe(textarea, counter.id, true);
    var warned = false;
    var warn = debounce(function () {
      announce(t("chars_left", {count: numberFormat.format(max - textarea.value.length)}));
    }, 800);
    function update() {
      var used = textarea.value.length;
      counter.textContent = t("chars_used", {count: numberFormat.format(used), max: numberFormat.format(max)});
      var near = used >= max * 0.9;
      counter.classList.toggle("is-near", near);
      if (near && !warned) { warn(); }
      warned = near;
    }
    textarea.addEventListener("input", update);
    textarea.form && textarea.form.addEventListener("reset", function () { window.setTimeout(update, 0); });
    textarea.forumCounter = update;
    update();
  }

  /* Markdown preview: rendered by the server with the same sanitiser as a saved post (POST /api/v1/preview). */
  function addPreview(textarea) {
    var form = textarea.form;
    var tools = document.createElement("div");
    tools.className = "composer-tools";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button secondary small";
    button.textContent = t("preview");
    button.setAttribute("aria-expanded", "false");
    var panel = document.createElement("div");
    panel.className = "preview";
    panel.id = textarea.id + "-preview";
    panel.hidden = true;
    var title = document.createElement("p");
    title.className = "preview-title";
    title.textContent = t("preview");
    var body = document.createElement("div");
    body.className = "post-body";
    body.setAttribute("aria-live", "polite");
    panel.append(title, body);
    button.setAttribute("aria-controls", panel.id);
    tools.appendChild(button);
    var anchor = form.querySelector("button[type=submit]") || textarea;
    anchor.insertAdjacentElement("beforebegin", tools);
    tools.insertAdjacentElement("afterend", panel);
    var sequence = 0;

    async function render() {
      var mine = ++sequence;
      if (!textarea.value.trim()) {
        body.textContent = t("preview_empty");
        return;
      }
      panel.setAttribute("aria-busy", "true");
      try {
        var result = await postJSON("/api/v1/preview", {source: textarea.value}, form);
        if (mine !== sequence) { return; }
        if (result.status === 200 && result.data) {
          body.innerHTML = result.data.html;  // sanitised on the server, exactly as a stored post
        } else {
          body.textContent = errorMessage(result) || t("preview_failed");
        }
      } catch (e) {
        if (mine === sequence) { body.textContent = t("preview_failed"); }
      } finally {
        if (mine === sequence) { panel.removeAttribute("aria-busy"); }
      }
    }
    var later = debounce(render, 700);

    button.addEventListener("click", function () {
      var open = panel.hidden;
      panel.hidden = !open;
      button.setAttribute("aria-expanded", String(open));
      button.textContent = open ? t("preview_hide") : t("preview");
      if (open) { render(); }
    });
    textarea.addEventListener("input", function () { if (!panel.hidden) { later(); } });
    textarea.forumPreviewClose = function () {
      panel.hidden = true;
      button.setAttribute("aria-expanded", "false");
      button.textContent = t("preview");
      body.textContent = "";
    };
  }

  /* Before saving: the same detectors as the write path look at the text (POST /api/v1/preview) and, when they see
     personal data or a secret, the author is told the kind and the lines, can select a line to edit it, and
     chooses: change the text, or post anyway (held for review). Without JavaScript the server asks the same
     question as a confirmation step (forum/web/drafts.py); this fills the same box in place. */
  function guardDraft(textarea) {
    var form = textarea.form;
    var box = document.getElementById(textarea.id + "-warnings");
    if (!box) { return; }
    var confirmField = document.createElement("input");
    confirmField.type = "hidden";
    confirmField.name = "confirm_sensitive";
    form.appendChild(confirmField);
    var settled = null;  // the text last found clean, or confirmed by the author
    var sequence = 0;

    function selectLine(number) {
      var lines = textarea.value.split("\n");
      var start = 0;
      for (var i = 0; i < number - 1 && i < lines.length; i++) { start += lines[i].length + 1; }
      var end = start + (lines[number - 1] || "").length;
      textarea.focus();
      textarea.setSelectionRange(start, end);
    }

    function show(warnings, submitter) {
      box.textContent = "";
      if (!warnings.length) {
        box.hidden = true;
        box.removeAttribute("role");
        return;
      }
      var title = document.createElement("p");
      title.className = "draft-warnings-title";
      var strong = document.createElement("strong");
      strong.textContent = t("draft_title");
      title.appendChild(strong);
      var intro = document.createElement("p");
      intro.textContent = t("draft_intro");
      var list = document.createElement("ul");
      warnings.forEach(function (warning) {
        var item = document.createElement("li");
        item.setAttribute("data-kind", warning.kind);
        item.setAttribute("data-lines", warning.lines.join(","));
        var label = document.createElement("strong");
        label.textContent = warning.label;
        item.append(label, " (" + t(warning.lines.length === 1 ? "draft_line" : "draft_lines",
                                       {lines: warning.lines.join(", ")}) + "). " + warning.help + " ");
        warning.lines.slice(0, 5).forEach(function (number) {
          var select = document.createElement("button");
          select.type = "button";
          select.className = "button secondary small";
          select.textContent = t("draft_select_line", {line: number});
          select.addEventListener("click", function () { selectLine(number); });
          item.append(select, " ");
        });
        list.appendChild(item);
      });
      var outro = document.createElement("p");
      outro.textContent = t("draft_outro");
      var anyway = document.createElement("button");
      anyway.type = "button";
      anyway.className = "button secondary";
      anyway.textContent = t("draft_post_anyway");
      anyway.addEventListener("click", function () {
        settled = textarea.value;
        confirmField.value = "1";
        box.hidden = true;
        if (form.requestSubmit) { form.requestSubmit(submitter || undefined); } else { form.submit(); }
      });
      box.append(title, intro, list, outro, anyway);
      box.setAttribute("role", "alert");
      box.hidden = false;
    }

    async function check() {
      var result = await postJSON("/api/v1/preview", {source: textarea.value}, form);
      return result.status === 200 && result.data && Array.isArray(result.data.warnings) ? result.data.warnings : null;
    }

    // Registered in the capture phase, so it runs before the live reply sender (sendRepliesInPlace).
    form.addEventListener("submit", async function (event) {
      if (settled === textarea.value || !window.fetch || !textarea.value.trim()) { return; }
      event.preventDefault();
      event.stopImmediatePropagation();
      var submitter = event.submitter && event.submitter.name !== "confirm_sensitive" ? event.submitter : null;
      if (event.submitter && event.submitter.name === "confirm_sensitive") {  // the server's own button
        settled = textarea.value;
        confirmField.value = "1";
        form.requestSubmit ? form.requestSubmit() : form.submit();
        return;
      }
      var warnings = null;
      try { warnings = await check(); } catch (e) { warnings = null; }
      if (warnings && warnings.length) {
        show(warnings, submitter);
        box.focus();
        return;
      }
      settled = textarea.value;  // clean, or the check failed: the server's confirmation step still asks
      confirmField.value = "";
      if (form.requestSubmit) { form.requestSubmit(submitter || undefined); } else { form.submit(); }
    }, true);

    var recheck = debounce(async function () {
      var mine = ++sequence;
      if (!textarea.value.trim()) { show([]); return; }
      try {
        var warnings = await check();
        if (mine === sequence && warnings) { show(warnings, null); }
      } catch (e) { /* the check on submit tries again */ }
    }, 1200);
    textarea.addEventListener("input", function () {
      if (settled !== textarea.value) { confirmField.value = ""; }
      recheck();
    });
  }

  /* The open topic: inserting new posts (after our own reply, or when the live stream says there are some). */
  function liveTopic(container) {
    var topicId = container.getAttribute("data-topic");
    var last = parseInt(container.getAttribute("data-last"), 10) || 0;
    var pageEnd = parseInt(container.getAttribute("data-page-end"), 10) || Infinity;
    var queue = Promise.resolve([]);
    var more = null;

    /* Posts past this page's last slot belong on the next page: link there instead of growing this one. */
    function showMore() {
      if (more || !container.getAttribute("data-next")) { return; }
      more = document.createElement("p");
      more.className = "notice live-more";
      var link = document.createElement("a");
      link.href = container.getAttribute("data-next");
      link.textContent = t("more_on_next_page");
      more.appendChild(link);
      container.insertAdjacentElement("afterend", more);
      announce(link.textContent);
    }

    function fetchNew() {
      queue = queue.then(async function () {
        if (last >= pageEnd) { showMore(); return []; }
        var response = await fetch("/t/" + topicId + "/_posts?after=" + last, {credentials: "same-origin",
                                                                              headers: {"Accept": "text/html"}});
        if (!response.ok) { return []; }
        var template = document.createElement("template");
        template.innerHTML = await response.text();
        var added = [];
        template.content.querySelectorAll("article.post").forEach(function (post) {
          var number = parseInt(post.id.replace("post-", ""), 10);
          if (!(number > last)) { return; }
          if (number > pageEnd) { showMore(); return; }
          last = number;
          if (!document.getElementById(post.id)) {
            container.appendChild(post);
            added.push(post);
          }
        });
        container.setAttribute("data-last", String(last));
        return added;
      }).catch(function () { return []; });
      return queue;
    }

    if (container.hasAttribute("data-live") && window.EventSource) {
      var source = new EventSource("/t/" + topicId + "/_events?after=" + last);
      source.addEventListener("posts", async function (event) {
        var number = 0;
        try { number = JSON.parse(event.data).last_number; } catch (e) { number = 0; }
        if (number <= last) { return; }
        var added = await fetchNew();
        added.forEach(function (post) { post.classList.add("is-unread"); });
        if (added.length === 1) { announce(t("new_reply")); } else if (added.length > 1) { announce(t("new_replies", {count: added.length})); }
      });
      source.addEventListener("gone", function () { source.close(); });
      window.addEventListener("pagehide", function () { source.close(); });
    }
    return {fetchNew: fetchNew, live: container.hasAttribute("data-live"), pageEnd: pageEnd};
  }

  /* The header's unread notification count follows the server while the page is open (server-sent events). */
  function liveUnreadCount(link) {
    var source = new EventSource("/notifications/_events");
    source.addEventListener("unread", function (event) {
      var data = null;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      var count = parseInt(data.count, 10) || 0;
      var badge = link.querySelector(".badge-count");
      if (count <= 0) {
        if (badge) { badge.remove(); }
        return;
      }
      if (!badge) {
        badge = document.createElement("span");
        badge.className = "badge-count";
        link.append(" ", badge);
      }
      var hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = " " + data.label;
      var cap = parseInt(link.getAttribute("data-unread-cap"), 10) || 0;  /* counted up to cap: "99+" beyond */
      badge.textContent = cap && count >= cap ? numberFormat.format(cap - 1) + "+" : numberFormat.format(count);
      badge.appendChild(hidden);
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  /* Replying without a reload: the JSON API takes the reply, the new post is fetched as HTML and inserted.
     Anything unexpected (offline, a server error) falls back to sending the form the ordinary way. */
  function sendRepliesInPlace(form, topic) {
    var textarea = form.querySelector("textarea[name=body]");
    var submit = form.querySelector("button[type=submit]");
    var error = document.createElement("p");
    error.className = "error";
    error.id = "reply-error-live";
    error.setAttribute("role", "alert");
    error.hidden = true;
    textarea.insertAdjacentElement("beforebegin", error);
    var sending = false;

    function showError(text) {
      error.textContent = text;
      error.hidden = !text;
      describe(textarea, error.id, Boolean(text));
      if (text) { textarea.setAttribute("aria-invalid", "true"); } else { textarea.removeAttribute("aria-invalid"); }
    }

    form.addEventListener("submit", async function (event) {
      if (!topic.live || !window.fetch) { return; }  // not on the last page: the normal form shows the reply in place
      if (hasFiles(form)) { return; }  // files go with the form itself (multipart), not through the JSON API
      event.preventDefault();
      if (sending) { return; }
      sending = true;
      var label = submit.textContent;
      submit.textContent = t("sending");
      submit.setAttribute("aria-disabled", "true");
      var replyTo = form.querySelector("input[name=reply_to]");
      var body = {body: textarea.value, reply_to: replyTo && /^\d+$/.test(replyTo.value) ? parseInt(replyTo.value, 10) : null};
      try {
        var result = await postJSON(form.getAttribute("data-api"), body, form);
        if (result.status === 201 && result.data.number > topic.pageEnd) {
          window.location.assign("/p/" + result.data.id);  // it starts the next page: go there
        } else if (result.status === 201) {
          showError("");
          textarea.value = "";
          if (replyTo) { replyTo.value = ""; }
          if (textarea.forumCounter) { textarea.forumCounter(); }
          if (textarea.forumPreviewClose) { textarea.forumPreviewClose(); }
          form.dispatchEvent(new Event("forum:posted"));  // the server deleted the draft with the post
          await topic.fetchNew();
          var mine = document.getElementById("post-" + result.data.number);
          if (mine) {
            mine.setAttribute("tabindex", "-1");
            mine.focus();
          }
          announce(t("reply_posted"));
        } else if (result.status >= 400 && result.status < 500 && result.data && result.data.error) {
          showError(errorMessage(result));
          textarea.focus();
        } else {
          form.submit();
        }
      } catch (e) {
        form.submit();
      } finally {
        sending = false;
        submit.textContent = label;
        submit.removeAttribute("aria-disabled");
      }
    });
  }

  /* A live counter (moderation's queue): when it changes elsewhere, say so and offer a reload (server-sent
     events). The page names its stream and the page to reload; the script knows neither. */
  function liveQueue(region) {
    var known = parseInt(region.getAttribute("data-live-queue"), 10) || 0;
    var source = new EventSource(region.getAttribute("data-events"));
    source.addEventListener("queue", function (event) {
      var data = null;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      var count = parseInt(data.open, 10) || 0;
      if (count === known) { return; }
      region.textContent = t("queue_changed", {count: count}) + " ";
      var link = document.createElement("a");
      link.href = region.getAttribute("data-reload");
      link.textContent = t("reload");
      region.append(link);
      region.classList.add("is-shown");
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  function hasFiles(form) {  // chosen now, or kept by the server from the last try (input[name=pending_upload])
    return Boolean(form.querySelector("input[name=pending_upload]")) ||
      Array.prototype.some.call(form.querySelectorAll("input[type=file]"), function (input) {
        return input.files && input.files.length > 0;
      });
  }

  /* Pasting or dropping a picture into the composer (issue 22): each file goes into a file field of its own,
     with its alt text field beside it, so the form sends exactly what it sends without JavaScript. */
  function attachByPaste(fieldset) {
    var form = fieldset.form || fieldset.closest("form");
    var textarea = form && form.querySelector("textarea[name=body]");
    var max = parseInt(fieldset.getAttribute("data-max"), 10) || 1;
    if (!form || !textarea || !window.DataTransfer) { return; }

    function freePair() {
      var pairs = fieldset.querySelectorAll(".attachment-pair");
      for (var i = 0; i < pairs.length; i++) {
        var input = pairs[i].querySelector("input[type=file]");
        if (!input.files || input.files.length === 0) { return pairs[i]; }
      }
      if (pairs.length >= max) { return null; }
      var pair = pairs[0].cloneNode(true);
      var n = pairs.length + 1;
      pair.querySelectorAll("input, label").forEach(function (node) {
        ["id", "for"].forEach(function (name) {
          var value = node.getAttribute(name);
          if (value) { node.setAttribute(name, value.replace(/-\d+$/, "-" + n)); }
        });
        if (node.tagName === "INPUT") { node.value = ""; node.removeAttribute("aria-describedby"); }
      });
      pairs[pairs.length - 1].insertAdjacentElement("afterend", pair);
      return pair;
    }

    function attach(files) {
      var added = 0;
      Array.prototype.forEach.call(files, function (file) {
        var pair = freePair();
        if (!pair) { announce(t("files_full")); return; }
        var transfer = new DataTransfer();
        var named = file.name && file.name !== "image.png" ? file : new File([file], "pasted.png", {type: file.type});
        transfer.items.add(named);
        var input = pair.querySelector("input[type=file]");
        input.files = transfer.files;
        var alt = pair.querySelector("input[name=attachment_alt]");
        announce(t("file_attached", {name: file.name && file.name !== "image.png" ? file.name : t("file_pasted")}));
        if (alt && !added) { alt.focus(); }
        added += 1;
      });
      return added;
    }

    textarea.addEventListener("paste", function (event) {
      var files = event.clipboardData && event.clipboardData.files;
      if (files && files.length && attach(files)) { event.preventDefault(); }
    });
    form.addEventListener("dragover", function (event) {
      if (event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") >= 0) {
        event.preventDefault();
      }
    });
    form.addEventListener("drop", function (event) {
      var files = event.dataTransfer && event.dataTransfer.files;
      if (files && files.length && !(event.target.type === "file")) {
        event.preventDefault();
        attach(files);
      }
    });
  }

  document.querySelectorAll("[data-attachments]").forEach(attachByPaste);

  /* The new-topic composer: as the title passes ten characters (and as the body adds words), up to five similar
     topics, solved first (/api/v1/similar-topics). Once shown, the form says so (confirm_similar), so posting
     does not stop at the confirmation step the form has without JavaScript. */
  function similarTopics(box, form) {
    var title = form.querySelector("input[name=title]");
    var body = form.querySelector("textarea[name=body]");
    var list = box.querySelector("ul");
    if (!title || !list) { return; }
    var asked = "";
    var lookup = debounce(async function () {
      var text = title.value.trim();
      if (text.length < 10) { box.hidden = true; return; }
      var query = "title=" + encodeURIComponent(text.slice(0, 200)) +
        "&body=" + encodeURIComponent((body ? body.value : "").slice(0, 500));
      if (query === asked) { return; }
      asked = query;
      var data = null;
      try {
        var response = await fetch(box.getAttribute("data-similar") + "?" + query,
                                   {credentials: "same-origin", headers: {"Accept": "application/json"}});
        data = response.ok ? await response.json() : null;
      } catch (e) { data = null; }
      if (!data || query !== asked) { return; }
      list.textContent = "";
      data.topics.forEach(function (topic) {
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = topic.url;
        link.textContent = topic.title;
        item.append(link);
        var meta = document.createElement("span");
        meta.className = "meta";
        meta.append(" " + topic.category_name);
        if (topic.solved || topic.accepted_answer) {
          meta.append(" · ");
          var badge = document.createElement("strong");
          badge.className = "badge solved";
          badge.textContent = topic.solved ? t("similar_solved") : t("similar_accepted");
          meta.append(badge);
        }
        item.append(" ", meta);
        list.append(item);
      });
      box.hidden = data.topics.length === 0;
      if (data.topics.length) {
        var confirmed = form.querySelector("input[type=hidden][name=confirm_similar]");
        if (!confirmed) {
          confirmed = document.createElement("input");
          confirmed.type = "hidden";
          confirmed.name = "confirm_similar";
          confirmed.value = "1";
          form.append(confirmed);
        }
      }
    }, 350);
    title.addEventListener("input", lookup);
    if (body) { body.addEventListener("input", lookup); }
  }

  /* Drafts kept on the server (/api/v1/drafts): saved a second after the member stops typing, and at once when
     the page is hidden or closed (keepalive), so a closed tab loses nothing. Posting deletes the draft on the
     server; nothing is saved after the form was sent. */
  function autosaveDraft(form) {
    var status = form.querySelector(".draft-status");
    var fields = ["title", "body", "kind", "topic_id", "category"];
    var sending = false;
    function current() {
      var data = {};
      fields.forEach(function (name) {
        var field = form.querySelector("[name=" + name + "]:not([type=radio]), [name=" + name + "][type=radio]:checked");
        if (field) { data[name] = field.value; }
      });
      data.topic_id = data.topic_id ? parseInt(data.topic_id, 10) : null;
      data.title = data.title || "";
      data.body = data.body || "";
      if (data.kind === undefined) { data.kind = ""; }
      if (!data.category) { delete data.category; }
      return data;
    }
    var saved = JSON.stringify(current());
    function save(keepalive) {
      var data = current();
      var text = JSON.stringify(data);
      if (sending || text === saved) { return; }
      saved = text;
      fetch(form.getAttribute("data-draft"), {
        method: "PUT", credentials: "same-origin", keepalive: !!keepalive,
        headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrfToken(form)},
        body: text
      }).then(function (response) {
        if (status && !keepalive) { status.textContent = response.ok ? t("composer_saved") : t("composer_save_failed"); }
      }).catch(function () {
        saved = null;
        if (status && !keepalive) { status.textContent = t("composer_save_failed"); }
      });
    }
    var later = debounce(function () { save(false); }, 1000);
    form.addEventListener("input", function () { sending = false; later(); });
    form.addEventListener("submit", function (event) {
      var submitter = event.submitter;
      if (submitter && submitter.getAttribute("formaction")) { return; }  // the "save draft" button itself
      sending = true;
    });
    form.addEventListener("forum:posted", function () { saved = JSON.stringify(current()); sending = false; });
    document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") { save(true); } });
    window.addEventListener("pagehide", function () { save(true); });
  }

  /* "@" and two letters in a composer suggest handles of members the post could mention
     (/api/v1/mention-suggestions). The textarea stays a textbox (a textarea takes no combobox role in HTML) with
     aria-autocomplete="list", aria-controls and aria-activedescendant pointing into a listbox; arrow keys move,
     Enter or Tab picks, Escape closes; the count is announced. */
  var mentionBoxes = 0;
  function mentionSuggestions(textarea, form) {
    var url = form.getAttribute("data-mentions");
    var id = "mention-list-" + (++mentionBoxes);
    var list = document.createElement("ul");
    list.id = id;
    list.className = "mention-suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", textarea.labels && textarea.labels[0] ? textarea.labels[0].textContent : "@");
    list.hidden = true;
    textarea.insertAdjacentElement("afterend", list);
    textarea.setAttribute("aria-autocomplete", "list");
    textarea.setAttribute("aria-controls", id);
    var items = [];
    var active = -1;
    var asked = "";
    function close() {
      list.hidden = true;
      list.textContent = "";
      items = [];
      active = -1;
      textarea.removeAttribute("aria-activedescendant");
    }
    function word() {
      var before = textarea.value.slice(0, textarea.selectionStart);
      var match = /(^|[^\w@])@([^\W_][\w.\-]{1,31})$/.exec(before);
      return match ? {prefix: match[2], start: before.length - match[2].length - 1} : null;
    }
    function highlight(index) {
      items.forEach(function (item, n) { item.setAttribute("aria-selected", n === index ? "true" : "false"); });
      active = index;
      if (index >= 0) { textarea.setAttribute("aria-activedescendant", items[index].id); }
      else { textarea.removeAttribute("aria-activedescendant"); }
    }
    function pick(index) {
      var at = word();
      if (!at || !items[index]) { close(); return; }
      var name = items[index].getAttribute("data-username");
      var end = textarea.selectionStart;
      textarea.value = textarea.value.slice(0, at.start) + "@" + name + " " + textarea.value.slice(end);
      var caret = at.start + name.length + 2;
      textarea.setSelectionRange(caret, caret);
      close();
      textarea.dispatchEvent(new Event("input", {bubbles: true}));
    }
    var lookup = debounce(async function () {
      var at = word();
      if (!at) { close(); asked = ""; return; }
      var params = "q=" + encodeURIComponent(at.prefix);
      var topic = form.querySelector("input[name=topic_id]");
      var category = form.querySelector("input[name=category]");
      if (topic && topic.value) { params += "&topic_id=" + encodeURIComponent(topic.value); }
      else if (category && category.value) { params += "&category=" + encodeURIComponent(category.value); }
      if (params === asked) { return; }
      asked = params;
      var data = null;
      try {
        var response = await fetch(url + "?" + params, {credentials: "same-origin", headers: {"Accept": "application/json"}});
        data = response.ok ? await response.json() : null;
      } catch (e) { data = null; }
      if (!data || params !== asked) { return; }
      list.textContent = "";
      items = data.users.map(function (user, n) {
        var item = document.createElement("li");
        item.id = id + "-" + n;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.setAttribute("data-username", user.username);
        item.textContent = "@" + user.username + (user.display_name ? " (" + user.display_name + ")" : "");
        item.addEventListener("mousedown", function (event) { event.preventDefault(); pick(n); });
        list.append(item);
        return item;
      });
      list.hidden = items.length === 0;
      highlight(items.length ? 0 : -1);
      announce(items.length ? t("mention_count", {count: items.length}) : t("mention_none"));
    }, 150);
    textarea.addEventListener("input", lookup);
    textarea.addEventListener("keydown", function (event) {
      if (list.hidden || !items.length) { return; }
      if (event.key === "ArrowDown") { event.preventDefault(); highlight((active + 1) % items.length); }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight((active - 1 + items.length) % items.length); }
      else if (event.key === "Enter" || event.key === "Tab") { event.preventDefault(); pick(active < 0 ? 0 : active); }
      else if (event.key === "Escape") { event.preventDefault(); close(); }
    });
    textarea.addEventListener("blur", function () { window.setTimeout(close, 100); });
  }

  var queueRegion = document.querySelector("[data-live-queue]");
  if (queueRegion && window.EventSource) { liveQueue(queueRegion); }
  var notificationsLink = document.querySelector('.account-nav a[href="/notifications"]');
  if (notificationsLink && window.EventSource) { liveUnreadCount(notificationsLink); }
  document.querySelectorAll("textarea[maxlength]").forEach(addCounter);
  document.querySelectorAll("form textarea[name=body]").forEach(function (textarea) {
    if (csrfToken(textarea.form)) { addPreview(textarea); guardDraft(textarea); }
  });
  document.querySelectorAll("form[data-draft]").forEach(function (form) {
    if (csrfToken(form)) { autosaveDraft(form); }
  });
  document.querySelectorAll("form[data-mentions] textarea[name=body]").forEach(function (textarea) {
    if (csrfToken(textarea.form)) { mentionSuggestions(textarea, textarea.form); }
  });
  var similarBox = document.querySelector("#similar-topics[data-similar]");
  if (similarBox && similarBox.closest("form")) { similarTopics(similarBox, similarBox.closest("form")); }
  var posts = document.querySelector(".posts[data-topic]");
  if (posts) {
    var topic = liveTopic(posts);
    var composer = document.querySelector("#composer form[data-api]");
    if (composer) { sendRepliesInPlace(composer, topic); }
  }
})();
