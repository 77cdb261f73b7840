/* forensics report: sorting, filtering, timeline zoom and focus tips.
   Everything here is optional: the page is complete without it. Log text only ever reaches the
   DOM through textContent, attribute values or option values; never as markup. */
(function () {
  "use strict";
  var VERDICTS = ["confirmed", "likely", "possible", "cleared", "none"];
  var collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  /* ---- tables: a .sortable container holds chunk tables that share one header row. Header
     cells with data-filter get a <select>; a verdict cell carries its verdict as class v-*. ---- */
  function Table(box) {
    this.box = box;
    this.head = box.querySelector("thead tr");
    this.bodies = Array.prototype.slice.call(box.querySelectorAll("tbody"));
    this.sizes = this.bodies.map(function (b) { return b.rows.length; });
    this.rows = [];
    var rows = this.rows;
    this.bodies.forEach(function (b) { each(b.rows, function (r) { rows.push(r); }); });
    this.chunks = Array.prototype.slice.call(box.querySelectorAll(".chunk"));
  }

  Table.prototype.key = function (row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    var verdict = /(?:^| )v-([a-z]+)/.exec(cell.className);
    return verdict ? verdict[1] : cell.textContent.trim();
  };

  Table.prototype.values = function (index, isVerdict) {
    var seen = {};
    var self = this;
    this.rows.forEach(function (row) { seen[self.key(row, index)] = true; });
    if (isVerdict) { return VERDICTS.filter(function (v) { return seen[v]; }); }
    return Object.keys(seen).sort(collator.compare);
  };

  Table.prototype.setupFilters = function () {
    var self = this;
    var bar = el("div", { "class": "filters" });
    var count = el("span", { "class": "count", "aria-live": "polite" });
    var selects = [];
    each(this.head.cells, function (th, index) {
      var key = th.dataset.filter;
      if (!key) { return; }
      var id = self.box.id + "-filter-" + key;
      var select = el("select", { id: id });
      select.appendChild(el("option", { value: "" }, "all"));
      self.values(index, key === "verdict").forEach(function (v) {
        select.appendChild(el("option", { value: v }, key === "verdict" && v === "none" ? "no verdict" : v));
      });
      select.addEventListener("change", function () { self.filter(); });
      selects.push({ select: select, index: index });
      bar.appendChild(el("label", { "for": id }, th.textContent.trim()));
      bar.appendChild(select);
    });
    bar.appendChild(count);
    this.selects = selects;
    this.count = count;
    this.box.parentNode.insertBefore(bar, this.box);
    this.filter();
  };

  Table.prototype.filter = function () {
    var self = this;
    var active = (this.selects || []).filter(function (f) { return f.select.value; });
    var shown = 0;
    this.rows.forEach(function (row) {
      var ok = active.every(function (f) { return self.key(row, f.index) === f.select.value; });
      if (row.hidden === ok) { row.hidden = !ok; }
      if (ok) { shown += 1; }
    });
    this.chunks.forEach(function (chunk, n) {
      var empty = n > 0 && !chunk.querySelector("tbody > tr:not([hidden])");
      if (chunk.hidden !== empty) { chunk.hidden = empty; }
    });
    if (this.count) {
      var total = this.rows.length;
      this.count.textContent = shown === total ? total + " rows" : shown + " of " + total + " rows shown";
    }
  };

  Table.prototype.sort = function (index, th) {
    var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    each(this.head.cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir);
    var self = this;
    var byVerdict = th.dataset.filter === "verdict";
    var keyed = this.rows.map(function (row, n) {
      var key = self.key(row, index);
      return [byVerdict ? VERDICTS.indexOf(key) : key, n, row];
    });
    var sign = dir === "ascending" ? 1 : -1;
    keyed.sort(function (a, b) {
      var c = byVerdict ? a[0] - b[0] : collator.compare(a[0], b[0]);
      return c * sign || a[1] - b[1];
    });
    this.rows = keyed.map(function (k) { return k[2]; });
    var at = 0;
    this.bodies.forEach(function (body, n) {
      var frag = document.createDocumentFragment();
      self.rows.slice(at, at + self.sizes[n]).forEach(function (r) { frag.appendChild(r); });
      at += self.sizes[n];
      body.appendChild(frag);
    });
    this.filter();
  };

  Table.prototype.setupSort = function () {
    var self = this;
    each(this.head.cells, function (th, index) {
      if (th.dataset.sort === "none") { return; }
      var button = el("button", { type: "button", "class": "sort", title: "Sort by this column" });
      while (th.firstChild) { button.appendChild(th.firstChild); }
      th.appendChild(button);
      button.addEventListener("click", function () { self.sort(index, th); });
    });
  };

  /* ---- timeline: x-only zoom, so that marks keep their shape ---- */
  function collect(svg) {
    var items = [];
    /* uses and pushes move; the overview's binned marks come drawn for each view */
    each(svg.querySelectorAll("a.use > use, a.push > use"), function (node) {
      items.push({ node: node, kind: "mark", x: +node.getAttribute("x"), link: node.parentNode });
    });
    each(svg.querySelectorAll("a line.bar"), function (node) {
      items.push({ node: node, kind: "bar", x: +node.getAttribute("x1"), x2: +node.getAttribute("x2") });
    });
    var win = svg.querySelector(":scope > rect.window");
    if (win) {
      var x = +win.getAttribute("x");
      items.push({ node: win, kind: "window", x: x, x2: x + (+win.getAttribute("width")) });
    }
    return items;
  }

  function zoomSvg(svg, on) {
    var plot = svg.dataset.plot.split(" ").map(Number);
    var range = svg.dataset.zoom.split(" ").map(Number);
    if (!svg.zoomItems) { svg.zoomItems = collect(svg); }
    var x0 = plot[0], x1 = plot[1];
    var scale = on ? (x1 - x0) / (range[1] - range[0]) : 1;
    var map = function (x) { return on ? x0 + (x - range[0]) * scale : x; };
    var clamp = function (x) { return Math.min(x1, Math.max(x0, x)); };
    svg.classList.toggle("zoomed", on);
    svg.zoomItems.forEach(function (it) {
      if (it.x > x1 + 1) { return; } /* the "time unknown" column does not move */
      var a = map(it.x);
      if (it.kind === "mark") {
        it.node.setAttribute("x", a.toFixed(1));
        it.link.classList.toggle("out", a < x0 - 0.5 || a > x1 + 0.5);
      } else {
        var b = map(it.x2);
        var lo = clamp(a), hi = clamp(b);
        if (it.kind === "window") {
          it.node.setAttribute("x", lo.toFixed(1));
          it.node.setAttribute("width", Math.max(hi - lo, 1).toFixed(1));
        } else {
          it.node.setAttribute("x1", lo.toFixed(1));
          it.node.setAttribute("x2", hi.toFixed(1));
          it.node.classList.toggle("out", hi - lo < 0.5 && (b < x0 || a > x1));
        }
      }
    });
  }

  function setupTimeline() {
    var views = document.getElementById("timeline-views");
    if (!views) { return; }
    var bar = el("div", { "class": "zoom", role: "group", "aria-label": "Timeline range" });
    var whole = el("button", { type: "button", "aria-pressed": "true" }, "Whole incident");
    var win = el("button", { type: "button", "aria-pressed": "false" }, "Exposure window \u00b110 %");
    var pick = function (on) {
      whole.setAttribute("aria-pressed", String(!on));
      win.setAttribute("aria-pressed", String(on));
      each(document.querySelectorAll("svg.timeline"), function (svg) { zoomSvg(svg, on); });
    };
    whole.addEventListener("click", function () { pick(false); });
    win.addEventListener("click", function () { pick(true); });
    bar.appendChild(whole);
    bar.appendChild(win);
    var groups = document.getElementById("timeline-groups");
    if (groups) {
      var all = function (open) {
        return function () { each(groups.querySelectorAll("details"), function (d) { d.open = open; }); };
      };
      var expand = el("button", { type: "button" }, "Expand all groups");
      var collapse = el("button", { type: "button" }, "Collapse all groups");
      expand.addEventListener("click", all(true));
      collapse.addEventListener("click", all(false));
      bar.appendChild(expand);
      bar.appendChild(collapse);
    }
    views.parentNode.insertBefore(bar, views);
  }

  /* ---- a tip for marks that have keyboard focus (hover shows the native tooltip) ---- */
  function setupTips() {
    var tip = el("div", { "class": "tip", id: "timeline-tip", role: "tooltip" });
    tip.hidden = true;
    document.body.appendChild(tip);
    document.addEventListener("focusin", function (e) {
      var link = e.target.closest ? e.target.closest("svg.timeline a") : null;
      var title = link ? link.querySelector("title") : null;
      if (!title) { tip.hidden = true; return; }
      var box = link.getBoundingClientRect();
      tip.textContent = title.textContent;
      tip.hidden = false;
      tip.style.left = Math.round(box.left + window.scrollX + box.width + 8) + "px";
      tip.style.top = Math.round(box.top + window.scrollY + box.height + 6) + "px";
    });
    document.addEventListener("focusout", function () { tip.hidden = true; });
    window.addEventListener("hashchange", function () { tip.hidden = true; });
  }

  /* ---- links to a collapsed group open it; printing opens the SQL blocks ---- */
  function openDetails(id) {
    var target = id ? document.getElementById(id) : null;
    if (target && target.tagName === "DETAILS") { target.open = true; }
  }

  function openTarget() { openDetails(decodeURIComponent(location.hash.slice(1))); }

  function setupPrint() {
    var opened = [];
    window.addEventListener("beforeprint", function () {
      each(document.querySelectorAll("details.print-open:not([open])"), function (d) {
        d.open = true;
        opened.push(d);
      });
    });
    window.addEventListener("afterprint", function () {
      opened.forEach(function (d) { d.open = false; });
      opened = [];
    });
  }

  each(document.querySelectorAll(".sortable"), function (box) {
    var table = new Table(box);
    table.setupFilters();
    table.setupSort();
  });
  setupTimeline();
  setupTips();
  setupPrint();
  window.addEventListener("hashchange", openTarget);
  document.addEventListener("click", function (e) {
    var link = e.target.closest ? e.target.closest("a[href^='#']") : null;
    if (link) { openDetails(link.getAttribute("href").slice(1)); }
  });
  openTarget();
}());
