extension Drawing {
    /// The picture as one self-contained HTML page for sharing a recovery: the SVG of `svg()`
    /// inline, with pan and zoom (drag, wheel, the buttons, + − 0 keys), a search box for a model
    /// id, and a side panel that shows the evidence of the model, edge, collapsed box or family
    /// clicked, then the score and the warnings.
    ///
    /// Nothing is fetched: styles and the script are inline, the data travels as JSON in a
    /// `<script type="application/json">` element (with `<`, `>` and `&` escaped, so no id can
    /// close it), and a Content-Security-Policy forbids every network request. The script builds
    /// the panel with `textContent`, never `innerHTML`. Throws what `Layout.init` throws.
    public func html(options: LayoutOptions = LayoutOptions()) throws -> String {
        let layout = try Layout(self, options: options)
        return HTMLView(self, layout).render()
    }
}

/// Writes the HTML page of one `Layout` of a `Drawing`.
struct HTMLView {
    let drawing: Drawing
    let layout: Layout

    init(_ drawing: Drawing, _ layout: Layout) { self.drawing = drawing; self.layout = layout }

    func render() -> String {
        let x = Markup.xml
        let models = drawing.nodes.filter { $0.id != nil }.count
        let title = drawing.title.isEmpty ? "Model graph" : drawing.title
        let summary = "\(models) model\(models == 1 ? "" : "s") · \(layout.bands.count) famil\(layout.bands.count == 1 ? "y" : "ies") · \(drawing.edges.count) edge\(drawing.edges.count == 1 ? "" : "s")"
        var out = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="generator" content="libmodeltree">
        <title>\(x(title))</title>
        <style>\(Self.css)</style>
        </head>
        <body>
        <header class="mt-bar">
        <h1>\(x(title))</h1><span class="mt-summary">\(x(summary))</span>
        <span class="mt-tools"><input id="mt-search" type="search" placeholder="Find a model id" autocomplete="off" spellcheck="false" aria-label="Find a model id">
        <span id="mt-found" aria-live="polite"></span>
        <button id="mt-zoom-in" type="button" title="Zoom in (+)">+</button><button id="mt-zoom-out" type="button" title="Zoom out (−)">−</button><button id="mt-fit" type="button" title="Fit to the window (0)">Fit</button></span>
        </header>
        <div class="mt-main">
        <div id="mt-view" class="mt-view">

        """
        out += SVGPicture(drawing, layout, framed: false).render()
        out += "</div>\n<aside class=\"mt-panel\">\n"
        out += "<section id=\"mt-details\"><h2>Details</h2><p class=\"mt-hint\">Point at a model, an edge or a family to see its evidence; click to keep it. Drag to pan, scroll to zoom.</p></section>\n"
        if !drawing.score.isEmpty {
            out += "<section id=\"mt-score\"><h2>Score</h2><table>"
            for f in drawing.score { out += "<tr><th>\(x(f.key))</th><td>\(x(f.value))</td></tr>" }
            out += "</table></section>\n"
        }
        if !layout.notes.isEmpty {
            out += "<section id=\"mt-notes\"><h2>Notes</h2><ul>"
            for n in layout.notes { out += "<li>\(x(n))</li>" }
            out += "</ul></section>\n"
        }
        out += "<section id=\"mt-warnings\"><h2>Warnings (\(drawing.warnings.count))</h2>"
        out += drawing.warnings.isEmpty ? "<p class=\"mt-hint\">None.</p>" : "<ul>" + drawing.warnings.map { "<li>\(x($0))</li>" }.joined() + "</ul>"
        out += "</section>\n</aside>\n</div>\n"
        out += "<script type=\"application/json\" id=\"mt-data\">" + data() + "</script>\n"
        out += "<script>\n" + Self.script + "</script>\n</body>\n</html>\n"
        return out
    }

    /// What the script needs: exact ids, labels, evidence, edges, boxes and families.
    func data() -> String {
        let j = Markup.scriptJSON
        func facts(_ f: [Drawing.Fact]) -> String { "[" + f.map { "[\(j($0.key)),\(j($0.value))]" }.joined(separator: ",") + "]" }
        func strings(_ s: [String]) -> String { "[" + s.map(j).joined(separator: ",") + "]" }
        let nodes = drawing.nodes.enumerated().map { i, n in
            "{\"id\":\(n.id.map(j) ?? "null"),\"shown\":\(j(Markup.visible(n.id ?? n.label[0]))),\"label\":\(strings(n.label.map(Markup.visible))),"
                + "\"kind\":\(j(n.kind.rawValue)),\"family\":\(n.family),\"box\":\(layout.boxOfNode[i]),\"evidence\":\(facts(n.evidence))}"
        }
        let edges = drawing.edges.map { e in
            "{\"parent\":\(e.parent),\"child\":\(e.child),\"type\":\(j(PictureStyle.name(e.type))),\"unsure\":\(e.unsure),"
                + "\"label\":\(strings(e.lines.map(Markup.visible))),\"evidence\":\(facts(e.evidence))}"
        }
        let families = drawing.families.map { "{\"title\":\(j(Markup.visible($0.title))),\"evidence\":\(facts($0.evidence))}" }
        let boxes = layout.boxes.map { b in
            "{\"kind\":\(j(b.kind.rawValue)),\"nodes\":[\(b.nodes.map(String.init).joined(separator: ","))],\"hidden\":[\(b.hidden.map(String.init).joined(separator: ","))]}"
        }
        return "{\"nodes\":[\(nodes.joined(separator: ",\n"))],\n\"edges\":[\(edges.joined(separator: ",\n"))],\n"
            + "\"families\":[\(families.joined(separator: ","))],\n\"boxes\":[\(boxes.joined(separator: ","))]}"
    }

    static let css = """

    :root { color-scheme: light; }
    * { box-sizing: border-box; }
    html, body { margin: 0; height: 100%; }
    body { display: flex; flex-direction: column; font: 13px/1.4 "DejaVu Sans", Verdana, sans-serif; color: #0f172a; background: #f1f5f9; }
    .mt-bar { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 14px; padding: 8px 14px; background: #ffffff; border-bottom: 1px solid #e2e8f0; }
    .mt-bar h1 { font-size: 15px; margin: 0; max-width: 48vw; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    .mt-summary { color: #475569; }
    .mt-tools { margin-left: auto; display: flex; align-items: center; gap: 6px; }
    #mt-search { width: 220px; padding: 4px 8px; border: 1px solid #cbd5e1; border-radius: 6px; font: inherit; }
    #mt-found { color: #475569; min-width: 7em; }
    .mt-bar button { font: inherit; min-width: 30px; padding: 3px 8px; border: 1px solid #cbd5e1; border-radius: 6px; background: #f8fafc; cursor: pointer; }
    .mt-bar button:hover { background: #e2e8f0; }
    .mt-main { flex: 1; display: flex; min-height: 0; }
    .mt-view { flex: 1; min-width: 0; overflow: hidden; background: #ffffff; cursor: grab; touch-action: none; }
    .mt-view.mt-dragging { cursor: grabbing; }
    .mt-view > svg { display: block; width: 100%; height: 100%; user-select: none; }
    .mt-panel { width: 340px; overflow: auto; padding: 4px 14px 14px; border-left: 1px solid #e2e8f0; background: #f8fafc; }
    .mt-panel h2 { font-size: 13px; margin: 14px 0 6px; color: #334155; text-transform: uppercase; letter-spacing: .04em; }
    .mt-panel h3 { font-size: 14px; margin: 4px 0; overflow-wrap: anywhere; unicode-bidi: isolate; }
    .mt-panel table { border-collapse: collapse; width: 100%; }
    .mt-panel th, .mt-panel td { text-align: left; vertical-align: top; padding: 3px 6px 3px 0; border-bottom: 1px solid #e2e8f0; overflow-wrap: anywhere; }
    .mt-panel th { font-weight: normal; color: #475569; width: 42%; }
    .mt-panel ul { margin: 0; padding-left: 18px; }
    .mt-panel li { margin: 2px 0; overflow-wrap: anywhere; }
    #mt-warnings li { color: #9a3412; }
    .mt-hint { color: #64748b; }
    .mt-kind { display: inline-block; padding: 0 6px; border-radius: 8px; background: #e2e8f0; color: #334155; font-size: 11px; }
    .mt-link { font: inherit; color: #0b5cad; background: none; border: none; padding: 0; cursor: pointer; text-align: left; overflow-wrap: anywhere; unicode-bidi: isolate; }
    .mt-link:hover { text-decoration: underline; }
    svg .mt-node, svg .mt-edge, svg .mt-label, svg .mt-family, svg .mt-member { cursor: pointer; }
    svg .mt-node:hover > rect, svg .mt-selected > rect { stroke: #f59e0b; stroke-width: 3px; }
    svg .mt-edge:hover > path + path, svg .mt-edge.mt-selected > path + path { stroke-width: 3.2px; }
    svg .mt-match > rect, svg .mt-member.mt-match > text { stroke: #16a34a; stroke-width: 3px; }
    svg .mt-member.mt-match > text { stroke-width: .4px; fill: #15803d; }
    svg.mt-searching .mt-node:not(.mt-match), svg.mt-searching .mt-edge, svg.mt-searching .mt-label, svg.mt-searching .mt-bundle { opacity: .3; }
    @media (max-width: 760px) { .mt-main { flex-direction: column; } .mt-panel { width: auto; height: 40vh; border-left: none; border-top: 1px solid #e2e8f0; } }

    """

    /// Pan and zoom by the viewBox; selection and search over the JSON data; text only through
    /// textContent.
    static let script = """
    (function () {
      "use strict";
      var data = JSON.parse(document.getElementById("mt-data").textContent);
      var view = document.getElementById("mt-view");
      var svg = view.querySelector("svg");
      var details = document.getElementById("mt-details");
      var v = svg.viewBox.baseVal;   // live: copied, since show() rewrites it
      var full = { x: v.x, y: v.y, width: v.width, height: v.height };
      var box = { x: full.x, y: full.y, w: full.width, h: full.height };
      svg.removeAttribute("width");
      svg.removeAttribute("height");
      svg.setAttribute("preserveAspectRatio", "xMidYMid meet");

      function show() { svg.setAttribute("viewBox", box.x + " " + box.y + " " + box.w + " " + box.h); }
      function aspect() { return Math.max(view.clientWidth, 1) / Math.max(view.clientHeight, 1); }
      // The whole picture, top-aligned and centred across, in a box of the view's own shape (so
      // that pan and zoom need no letterbox arithmetic).
      function fit() {
        var a = aspect();
        if (full.width / full.height > a) { box = { x: full.x, y: full.y, w: full.width, h: full.width / a }; }
        else { box = { x: full.x - (full.height * a - full.width) / 2, y: full.y, w: full.height * a, h: full.height }; }
        show();
      }
      // A big graph opens at a readable scale on its top-left corner; Fit shows it all.
      function start() {
        fit();
        var scale = view.clientWidth / box.w;
        if (scale < 0.45) { box = { x: full.x, y: full.y, w: view.clientWidth / 0.8, h: view.clientHeight / 0.8 }; show(); }
      }
      window.addEventListener("resize", function () { box.h = box.w / aspect(); show(); });
      function toPicture(clientX, clientY) {
        var m = svg.getScreenCTM();
        if (!m) { return { x: box.x + box.w / 2, y: box.y + box.h / 2 }; }
        var p = new DOMPoint(clientX, clientY).matrixTransform(m.inverse());
        return { x: p.x, y: p.y };
      }
      function zoom(factor, at) {
        var w = Math.min(Math.max(box.w * factor, full.width / 40), full.width * 4);
        var f = w / box.w;
        box = { x: at.x - (at.x - box.x) * f, y: at.y - (at.y - box.y) * f, w: box.w * f, h: box.h * f };
        show();
      }
      function centre() { return { x: box.x + box.w / 2, y: box.y + box.h / 2 }; }
      function centreOn(el) {
        var b = el.getBBox();
        var w = Math.min(box.w, Math.max(full.width / 3, b.width * 4));
        var h = box.h * w / box.w;
        var g = svg.querySelector(".mt-graph").transform.baseVal.consolidate();
        var dx = g ? g.matrix.e : 0, dy = g ? g.matrix.f : 0;
        box = { x: dx + b.x + b.width / 2 - w / 2, y: dy + b.y + b.height / 2 - h / 2, w: w, h: h };
        show();
      }

      view.addEventListener("wheel", function (e) {
        e.preventDefault();
        zoom(Math.pow(1.0015, e.deltaY), toPicture(e.clientX, e.clientY));
      }, { passive: false });
      var drag = null;
      view.addEventListener("pointerdown", function (e) {
        if (e.button !== 0) { return; }
        drag = { x: e.clientX, y: e.clientY, box: { x: box.x, y: box.y, w: box.w, h: box.h }, moved: false };
      });
      view.addEventListener("pointermove", function (e) {
        if (!drag) { return; }
        var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
        if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) { return; }
        if (!drag.moved) { drag.moved = true; view.classList.add("mt-dragging"); view.setPointerCapture(e.pointerId); }
        var m = svg.getScreenCTM();
        var scale = m ? m.a : 1;
        box = { x: drag.box.x - dx / scale, y: drag.box.y - dy / scale, w: drag.box.w, h: drag.box.h };
        show();
      });
      function endDrag(e) {
        if (drag && drag.moved) { view.classList.remove("mt-dragging"); if (view.hasPointerCapture(e.pointerId)) { view.releasePointerCapture(e.pointerId); } }
      }
      view.addEventListener("pointerup", endDrag);
      view.addEventListener("pointercancel", function (e) { endDrag(e); drag = null; });
      // What the pointer is on: a model (or a member of a group of copies), an edge, a box, a family.
      function pointedAt(t) {
        var member = t.closest("[data-node]"), edge = t.closest("[data-edge]"), boxEl = t.closest("[data-box]"), family = t.closest("[data-family]");
        if (member) { return function () { selectNode(+member.getAttribute("data-node")); }; }
        if (edge) { return function () { selectEdge(+edge.getAttribute("data-edge")); }; }
        if (boxEl) { return function () { selectBox(+boxEl.getAttribute("data-box")); }; }
        if (family) { return function () { selectFamily(+family.getAttribute("data-family")); }; }
        return null;
      }
      // Hovering shows the evidence until something is clicked; a click pins it, a click on the
      // background lets go.
      var pinned = false;
      view.addEventListener("click", function (e) {
        var dragged = drag && drag.moved;
        drag = null;
        if (dragged) { return; }
        var action = pointedAt(e.target);
        pinned = action !== null;
        if (action) { action(); } else { mark(null); }
      });
      view.addEventListener("mouseover", function (e) {
        if (pinned || drag) { return; }
        var action = pointedAt(e.target);
        if (action) { action(); }
      });
      document.getElementById("mt-zoom-in").addEventListener("click", function () { zoom(1 / 1.4, centre()); });
      document.getElementById("mt-zoom-out").addEventListener("click", function () { zoom(1.4, centre()); });
      document.getElementById("mt-fit").addEventListener("click", fit);
      document.addEventListener("keydown", function (e) {
        if (e.target.tagName === "INPUT") { return; }
        if (e.key === "+" || e.key === "=") { zoom(1 / 1.4, centre()); }
        else if (e.key === "-") { zoom(1.4, centre()); }
        else if (e.key === "0") { fit(); }
      });

      function el(tag, text, cls) {
        var e = document.createElement(tag);
        if (text !== undefined && text !== null) { e.textContent = text; }
        if (cls) { e.className = cls; }
        return e;
      }
      function table(rows) {
        var t = el("table");
        rows.forEach(function (r) {
          var tr = el("tr");
          tr.appendChild(el("th", r[0]));
          var td = el("td");
          if (r[1] instanceof Node) { td.appendChild(r[1]); } else { td.textContent = r[1]; }
          tr.appendChild(td);
          t.appendChild(tr);
        });
        return t;
      }
      function nodeName(i) { return data.nodes[i].shown; }
      function link(text, action) {
        var b = el("button", text, "mt-link");
        b.type = "button";
        b.addEventListener("click", action);
        return b;
      }
      function panel(heading, kind, rows, extra) {
        while (details.firstChild) { details.removeChild(details.firstChild); }
        details.appendChild(el("h2", "Details"));
        details.appendChild(el("h3", heading));
        if (kind) { details.appendChild(el("span", kind, "mt-kind")); }
        if (rows.length) { details.appendChild(table(rows)); }
        (extra || []).forEach(function (e) { details.appendChild(e); });
      }
      function list(title, items) {
        var s = el("div");
        s.appendChild(el("h2", title));
        var ul = el("ul");
        items.forEach(function (i) { var li = el("li"); li.appendChild(i); ul.appendChild(li); });
        s.appendChild(ul);
        return s;
      }
      function mark(selector) {
        Array.prototype.forEach.call(svg.querySelectorAll(".mt-selected"), function (e) { e.classList.remove("mt-selected"); });
        if (selector) { Array.prototype.forEach.call(svg.querySelectorAll(selector), function (e) { e.classList.add("mt-selected"); }); }
      }
      function edgeItem(k, other) {
        var e = data.edges[k];
        return link(nodeName(other) + " (" + e.type + (e.label.length ? ", " + e.label.join(", ") : "") + (e.unsure ? ", unsure" : "") + ")",
                    function () { selectEdge(k); });
      }
      function selectNode(i) {
        var n = data.nodes[i];
        var rows = [];
        if (n.id !== null && n.shown !== n.id) { rows.push(["exact id (JSON)", JSON.stringify(n.id)]); }
        if (n.label.length > 1) { rows.push(["shown as", n.label.slice(1).join(" · ")]); }
        rows.push(["family", data.families[n.family].title]);
        rows = rows.concat(n.evidence);
        var parents = [], children = [];
        data.edges.forEach(function (e, k) {
          if (e.child === i) { parents.push(edgeItem(k, e.parent)); }
          if (e.parent === i) { children.push(edgeItem(k, e.child)); }
        });
        var extra = [];
        if (parents.length) { extra.push(list(parents.length === 1 ? "Parent" : "Parents", parents)); }
        if (children.length) { extra.push(list("Children (" + children.length + ")", children)); }
        var b = data.boxes[n.box];
        if (b.kind === "duplicates") {
          extra.push(list("Identical copies", b.nodes.filter(function (m) { return m !== i; }).map(function (m) {
            return link(nodeName(m), function () { selectNode(m); });
          })));
        }
        if (b.kind === "collapsed") { extra.push(el("p", "Hidden in a collapsed box to keep the picture legible.", "mt-hint")); }
        panel(nodeName(i), n.kind === "model" ? "model" : n.kind === "root" ? "root" : "latent parent", rows, extra);
        mark(b.kind === "duplicates" ? '.mt-member[data-node="' + i + '"]' : '.mt-node[data-box="' + n.box + '"]');
      }
      function selectEdge(k) {
        var e = data.edges[k];
        var rows = [["type", e.type], ["parent", link(nodeName(e.parent), function () { selectNode(e.parent); })],
                    ["child", link(nodeName(e.child), function () { selectNode(e.child); })]];
        if (e.label.length) { rows.push(["shown as", e.label.join(" · ")]); }
        if (e.unsure) { rows.push(["unsure", "yes: look before you trust this edge"]); }
        panel(nodeName(e.parent) + " → " + nodeName(e.child), e.type + " edge", rows.concat(e.evidence));
        mark('.mt-edge[data-edge="' + k + '"]');
      }
      function selectBox(b) {
        var x = data.boxes[b];
        if (x.kind !== "collapsed") { selectNode(x.nodes[0]); return; }
        panel(x.hidden.length + " collapsed models", "collapsed", [],
              [list("Models", x.hidden.map(function (m) { return link(nodeName(m), function () { selectNode(m); }); }))]);
        mark('.mt-node[data-box="' + b + '"]');
      }
      function selectFamily(f) {
        var members = [];
        data.nodes.forEach(function (n, i) { if (n.family === f) { members.push(link(nodeName(i), function () { selectNode(i); })); } });
        panel(data.families[f].title, "family", data.families[f].evidence, [list("Models (" + members.length + ")", members)]);
        mark(null);
      }

      var search = document.getElementById("mt-search");
      var found = document.getElementById("mt-found");
      var matches = [];
      function runSearch() {
        var q = search.value.trim().toLowerCase();
        Array.prototype.forEach.call(svg.querySelectorAll(".mt-match"), function (e) { e.classList.remove("mt-match"); });
        matches = [];
        if (!q) { svg.classList.remove("mt-searching"); found.textContent = ""; return; }
        data.nodes.forEach(function (n, i) {
          var id = n.id === null ? "" : n.id.toLowerCase();
          if (id.indexOf(q) >= 0 || n.shown.toLowerCase().indexOf(q) >= 0) { matches.push(i); }
        });
        svg.classList.add("mt-searching");
        matches.forEach(function (i) {
          var b = data.boxes[data.nodes[i].box];
          var sel = b.kind === "duplicates" ? '.mt-member[data-node="' + i + '"], .mt-node[data-box="' + data.nodes[i].box + '"]'
                                            : '.mt-node[data-box="' + data.nodes[i].box + '"]';
          Array.prototype.forEach.call(svg.querySelectorAll(sel), function (e) { e.classList.add("mt-match"); });
        });
        found.textContent = matches.length === 0 ? "no match" : matches.length + (matches.length === 1 ? " match" : " matches");
      }
      search.addEventListener("input", runSearch);
      search.addEventListener("keydown", function (e) {
        if (e.key !== "Enter" || !matches.length) { return; }
        var i = matches[0];
        selectNode(i);
        var target = svg.querySelector('.mt-node[data-box="' + data.nodes[i].box + '"]');
        if (target) { centreOn(target); }
      });
      start();
    })();

    """
}
