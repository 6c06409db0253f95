// The e-mail template editor's live preview: a moment after the operator stops typing, the
// form goes to the preview endpoint; the rendered subject, HTML (in a sandboxed frame) and
// text are shown, or the problems (field, line, reason) when the template does not render.
(function () {
  "use strict";
  var form = document.getElementById("email-form");
  var box = document.getElementById("preview");
  var subject = document.getElementById("preview-subject");
  var frame = document.getElementById("preview-html");
  var text = document.getElementById("preview-text");
  var problems = document.getElementById("preview-problems");
  var timer = null;
  var latest = 0;

  function showProblems(list) {
    var ul = problems.querySelector("ul");
    ul.textContent = "";
    list.forEach(function (p) {
      var li = document.createElement("li");
      li.textContent = p.message || (p.field + (p.line ? ":" + p.line : "") + ": " + p.reason);
      ul.appendChild(li);
    });
    problems.hidden = list.length === 0;
    box.classList.toggle("stale", list.length > 0);
  }

  function refresh() {
    var mine = ++latest;
    fetch(form.dataset.preview, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (body) { return { status: response.status, body: body }; });
      })
      .then(function (answer) {
        if (mine !== latest) { return; }  // an older answer overtaken by a newer request
        if (answer.status === 200) {
          subject.textContent = answer.body.subject;
          frame.srcdoc = answer.body.html;
          text.textContent = answer.body.text;
          showProblems([]);
        } else {
          var detail = answer.body.detail;
          showProblems(detail && detail.problems ? detail.problems : [{ message: String(detail || answer.status) }]);
        }
      })
      .catch(function (error) {
        if (mine === latest) { showProblems([{ message: String(error) }]); }
      });
  }

  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  });
  refresh();
})();
