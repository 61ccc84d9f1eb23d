// Runs the dashboard page's script in Node against saved API answers and
// prints what it put on the page, as JSON, for tests/tests/peers_dashboard.rs.
//
//   node dashboard_check.js PAGE.html OVERVIEW.json ERRORS.json STATUS
//
// STATUS is the HTTP status the overview answer is given (200 or 503). The
// page's DOM is a minimal stand-in: elements by id, createElement,
// textContent, className, appendChild and replaceChildren.
"use strict";
const fs = require("fs");
const vm = require("vm");

const [page, overviewPath, errorsPath, status] = process.argv.slice(2);
const html = fs.readFileSync(page, "utf8");
const script = html.slice(html.indexOf("<script>") + "<script>".length, html.indexOf("</script>"));

class Element {
  constructor(tag) {
    this.tag = tag;
    this.children = [];
    this.textContent = "";
    this.className = "";
  }
  appendChild(child) {
    this.children.push(child);
    return child;
  }
  replaceChildren(...children) {
    this.children = children;
  }
  text() {
    return this.children.length ? this.children.map((c) => c.text()).join(" ") : this.textContent;
  }
}

const byId = {};
const document = {
  getElementById: (id) => (byId[id] = byId[id] || new Element("#" + id)),
  createElement: (tag) => new Element(tag),
};
const answers = {
  overview: { status: Number(status), body: fs.readFileSync(overviewPath, "utf8") },
  errors: { status: 200, body: fs.readFileSync(errorsPath, "utf8") },
};
const requested = [];
const fetch = (url) => {
  requested.push(url);
  const answer = answers[url.replace("api/dashboard/", "")];
  return Promise.resolve({
    ok: answer.status < 300,
    json: () => Promise.resolve(JSON.parse(answer.body)),
  });
};

// The page schedules its next read with setTimeout: one read is enough here.
vm.runInNewContext(script, { document, fetch, setTimeout: () => 0, AbortSignal, Promise, Object, Date, String });

// One turn for the fetches and the rendering to finish.
setTimeout(() => {
  const rows = (id) => (byId[id] ? byId[id].children.map((tr) => tr.children.map((td) => td.textContent)) : []);
  process.stdout.write(JSON.stringify({
    requested,
    status: byId.status.textContent,
    statusClass: byId.status.className,
    message: byId.message.textContent,
    summary: byId.summary ? byId.summary.text() : "",
    operations: rows("operations"),
    recent: rows("recent"),
    exporters: rows("exporters"),
    sources: rows("sources"),
  }) + "\n");
}, 50);
