#!/usr/bin/env python3
"""Loads libmodeltree's pictures in headless Chromium and reports what a reader would meet.

    python3 tools/browser_check.py --html graph.html --ids ids.json --screenshot graph.png [--svg graph.svg]

For each HTML page: console errors and uncaught exceptions (none allowed), network requests other
than the page itself (none allowed), every expected model id present in the rendered DOM (as the
picture shows it: control, bidi and invisible characters written as escapes, computed here from
Python's own Unicode tables), node boxes that overlap in the rendered geometry, text that spills
out of its box with the real font, and the page's controls working (a click shows the evidence, the
search box finds an id, the zoom buttons zoom). A PNG screenshot of the page is written. Each SVG
is parsed as XML by expat (an independent parser) and loaded in the browser on its own.

Talks to Chromium over the DevTools protocol on a pipe (`--remote-debugging-pipe`: commands on fd
3, replies on fd 4, each message ending in NUL): no port to pick or to race for, no other process
can connect, no WebSocket library needed, and the browser goes away with the pipe. Besides the
page's own Content-Security-Policy, `--host-resolver-rules` makes every host name unresolvable, so
a request that slipped through would fail fast instead of waiting on a network the test machine
may not have; it is still counted, from the Network domain's events.

Prints a JSON report and exits 1 when a check fails, 2 when Chromium cannot be driven.
Standard library only.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
import xml.etree.ElementTree as ET

SVG_NS = "{http://www.w3.org/2000/svg}"


def find_chromium():
    """The browser to drive: $MODELTREE_CHROMIUM, else the first of the usual names on PATH."""
    env = os.environ.get("MODELTREE_CHROMIUM")
    if env:
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome", "headless_shell"):
        path = shutil.which(name)
        if path:
            return path
    return None


def visible(text):
    """The picture's rule for showing an id (Markup.visible), written independently: line breaks
    and tabs as \\n \\r \\t, other controls (C0, DEL, C1, U+2028/9), format characters (Cf) and
    noncharacters as \\u{hex}."""
    out = []
    for ch in text:
        c = ord(ch)
        if ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif c < 0x20 or 0x7F <= c <= 0x9F or c in (0x2028, 0x2029) or unicodedata.category(ch) == "Cf" \
                or 0xFDD0 <= c <= 0xFDEF or (c & 0xFFFE) == 0xFFFE:
            out.append("\\u{%x}" % c)
        else:
            out.append(ch)
    return "".join(out)


class DevToolsError(Exception):
    pass


class Browser:
    """One headless Chromium driven over --remote-debugging-pipe."""

    def __init__(self, executable, timeout=30.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="modeltree-chromium-")
        commands_read, self.commands = os.pipe()
        self.replies, replies_write = os.pipe()

        def onto_3_and_4():
            # Copies first, so that moving one end onto fd 3 or 4 cannot close the other.
            a, b = os.dup(commands_read), os.dup(replies_write)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [executable, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
                "--user-data-dir=" + self.profile, "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
                "--host-resolver-rules=MAP * ~NOTFOUND",
                # Sandboxed frames (the notebook case) in the page's own process, so that their
                # console, errors and requests reach this page's session.
                "--disable-features=IsolateSandboxedIframes", "--disable-dev-shm-usage", "about:blank"]
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, preexec_fn=onto_3_and_4, pass_fds=(3, 4))
        os.close(commands_read)
        os.close(replies_write)
        self.buffer = b""
        self.next_id = 0
        self.events = []

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self.commands, self.replies):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def _read_message(self, deadline):
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DevToolsError("Chromium did not answer in time")
            ready, _, _ = select.select([self.replies], [], [], left)
            if ready:
                chunk = os.read(self.replies, 1 << 20)
                if not chunk:
                    err = self.process.stderr.read().decode(errors="replace")[-2000:] if self.process.poll() is not None else ""
                    raise DevToolsError("Chromium closed the pipe" + (": " + err if err else ""))
                self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method, params=None, session=None, timeout=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self.commands, data):]
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise DevToolsError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method, session, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        for e in self.events:
            if e.get("method") == method and e.get("sessionId") == session:
                return e
        while True:
            event = self._read_message(deadline)
            self.events.append(event)
            if event.get("method") == method and event.get("sessionId") == session:
                return event

    def open(self, url, width, height):
        """A fresh page with the domains that report errors and requests enabled, then `url`
        loaded; returns the session id."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(domain + ".enable", session=session)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
        self.events = [e for e in self.events if e.get("sessionId") != session]
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_for("Page.loadEventFired", session)
        self.evaluate(session, "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        return session, target

    def evaluate(self, session, expression):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True},
                           session=session)
        if "exceptionDetails" in result:
            raise DevToolsError("evaluation failed: " + json.dumps(result["exceptionDetails"])[:500])
        return result["result"].get("value")

    def screenshot(self, session, path):
        shot = self.send("Page.captureScreenshot", {"format": "png"}, session=session)
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        return path

    def problems_seen(self, session, page_url):
        """Console errors, exceptions, failed loads and requests other than the page itself."""
        errors, requests = [], []
        for e in self.events:
            if e.get("sessionId") != session:
                continue
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                errors.append("exception: " + json.dumps(params.get("exceptionDetails", {}))[:400])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append("console." + params["type"] + ": " + json.dumps(params.get("args", []))[:400])
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                errors.append("log: " + params["entry"].get("text", "")[:400])
            elif method == "Network.requestWillBeSent":
                url = params.get("request", {}).get("url", "")
                if url != page_url:
                    requests.append(url[:200])
        return errors, requests


# What the page must show, measured in the page. Returns plain data.
INSPECT = r"""
(() => {
  const svg = document.querySelector("#mt-view > svg") || document.querySelector("svg");
  const titles = [];
  svg.querySelectorAll(".mt-node > title, .mt-member > title, .mt-hidden > title").forEach(t => titles.push(t.textContent));
  // Geometry of every box and label in the picture's user space (getBBox ignores the stroke).
  const boxes = [], overflow = [];
  svg.querySelectorAll(".mt-node").forEach(g => {
    const rects = g.querySelectorAll(":scope > rect");
    const r = rects[rects.length - 1].getBBox();
    boxes.push({x: r.x, y: r.y, w: r.width, h: r.height, box: g.getAttribute("data-box")});
    g.querySelectorAll("text").forEach(t => {
      const b = t.getBBox();
      if (b.x < r.x - 0.5 || b.x + b.width > r.x + r.width + 0.5) {
        overflow.push({text: t.textContent, text_x: [b.x, b.x + b.width], box_x: [r.x, r.x + r.width]});
      }
    });
  });
  svg.querySelectorAll(".mt-label").forEach(g => {
    const r = g.querySelector("rect").getBBox();
    g.querySelectorAll("text").forEach(t => {
      const b = t.getBBox();
      if (b.x < r.x - 0.5 || b.x + b.width > r.x + r.width + 0.5) {
        overflow.push({text: t.textContent, text_x: [b.x, b.x + b.width], label_x: [r.x, r.x + r.width]});
      }
    });
  });
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) { overlaps.push([a.box, b.box]); }
    }
  }
  return {titles, boxes: boxes.length, overlaps, overflow, fonts: [...document.fonts].length,
          font: getComputedStyle(svg.querySelector("text")).fontFamily};
})()
"""

# The page's controls, driven as a user would (events, not internal calls).
INTERACT = r"""
(async (searchFor) => {
  const out = {};
  const svg = document.querySelector("#mt-view > svg");
  const panel = () => (document.querySelector("#mt-details h3") || {}).textContent || null;
  const click = el => el.dispatchEvent(new MouseEvent("click", {bubbles: true, cancelable: true, view: window}));
  const nodes = svg.querySelectorAll(".mt-node[data-node]");
  if (nodes.length > 1) {   // pointing shows the evidence before anything is clicked
    nodes[1].querySelector("rect").dispatchEvent(new MouseEvent("mouseover", {bubbles: true, view: window}));
    out.hover_title = nodes[1].querySelector("title").textContent; out.hover_panel = panel();
  }
  const node = nodes[0];
  if (node) { click(node.querySelector("rect")); out.node_title = node.querySelector("title").textContent; out.node_panel = panel();
              out.node_rows = document.querySelectorAll("#mt-details tr").length; }
  const edge = svg.querySelector(".mt-edge[data-edge]");
  if (edge) { click(edge.querySelector("path")); out.edge_panel = panel(); out.edge_rows = document.querySelectorAll("#mt-details tr").length; }
  const search = document.getElementById("mt-search");
  out.search = [];
  for (const id of searchFor) {
    search.value = id;
    search.dispatchEvent(new Event("input", {bubbles: true}));
    out.search.push({id, found: document.getElementById("mt-found").textContent, marked: svg.querySelectorAll(".mt-match").length});
  }
  search.value = "";
  search.dispatchEvent(new Event("input", {bubbles: true}));
  const width = () => svg.viewBox.baseVal.width;
  document.getElementById("mt-fit").click();
  const whole = width();
  document.getElementById("mt-zoom-in").click();
  out.zoomed = width() < whole;
  document.getElementById("mt-fit").click();
  out.fitted = Math.abs(width() - whole) < 1e-6;
  return out;
})
"""


def check_svg_xml(path, ids):
    """Parses an SVG with expat; returns (problems, title texts)."""
    try:
        tree = ET.parse(path)
    except ET.ParseError as e:
        return [f"{path}: not well-formed XML: {e}"], []
    root = tree.getroot()
    problems = []
    if root.tag != SVG_NS + "svg":
        problems.append(f"{path}: root element is {root.tag}")
    for el in root.iter():
        for attr in ("href", SVG_NS + "href", "{http://www.w3.org/1999/xlink}href", "src"):
            if el.get(attr) is not None:
                problems.append(f"{path}: external reference {attr}={el.get(attr)!r}")
        if el.tag in (SVG_NS + "script", SVG_NS + "foreignObject", SVG_NS + "image"):
            problems.append(f"{path}: {el.tag} element")
    titles = [t.text or "" for t in root.iter(SVG_NS + "title")]
    missing = [i for i in ids if visible(i) not in titles]
    if missing:
        problems.append(f"{path}: {len(missing)} ids missing from the titles: {missing[:10]!r}")
    return problems, titles


def check(html_files, svg_files, ids_per_file, screenshot_dir, width=1400, height=900, executable=None, frame_files=()):
    """Runs every check; returns the report (a dict with "problems")."""
    report = {"pages": [], "svgs": [], "frames": [], "problems": []}
    for svg, ids in zip(svg_files, ids_per_file[len(html_files):] or [[]] * len(svg_files)):
        problems, _ = check_svg_xml(svg, ids)
        report["svgs"].append({"file": svg, "problems": problems})
        report["problems"] += problems
    executable = executable or find_chromium()
    if not executable:
        raise DevToolsError("no Chromium found (apt-get install chromium, or set MODELTREE_CHROMIUM)")
    started = time.monotonic()
    browser = Browser(executable)
    try:
        for path, ids in zip(html_files, ids_per_file):
            url = "file://" + os.path.abspath(path)
            session, target = browser.open(url, width, height)
            page = {"file": path}
            page.update(browser.evaluate(session, INSPECT))
            stem = os.path.join(screenshot_dir, os.path.splitext(os.path.basename(path))[0])
            page["screenshot"] = browser.screenshot(session, stem + ".png")   # as the page opens
            probe = [i for i in ids[:3]] + [ids[-1]] if ids else []
            page["interaction"] = browser.evaluate(session, f"({INTERACT})({json.dumps(probe)})")
            page["screenshot_details"] = browser.screenshot(session, stem + "-details.png")   # whole graph, an edge's evidence
            page["errors"], page["requests"] = browser.problems_seen(session, url)
            shown = set(page.pop("titles"))
            page["missing_ids"] = [i for i in ids if visible(i) not in shown]
            problems = [f"{path}: {e}" for e in page["errors"]]
            problems += [f"{path}: network request to {r}" for r in page["requests"]]
            if page["missing_ids"]:
                problems.append(f"{path}: {len(page['missing_ids'])} ids not in the DOM: {page['missing_ids'][:10]!r}")
            if page["overlaps"]:
                problems.append(f"{path}: overlapping boxes {page['overlaps'][:5]}")
            if page["overflow"]:
                problems.append(f"{path}: text wider than its box {page['overflow'][:3]}")
            act = page["interaction"]
            if ids and act.get("node_panel") != act.get("node_title"):
                problems.append(f"{path}: clicking a model showed {act.get('node_panel')!r}, not {act.get('node_title')!r}")
            if "hover_title" in act and act["hover_panel"] != act["hover_title"]:
                problems.append(f"{path}: pointing at a model showed {act.get('hover_panel')!r}, not {act['hover_title']!r}")
            if act.get("edge_panel") is not None and "→" not in act["edge_panel"]:
                problems.append(f"{path}: clicking an edge showed {act.get('edge_panel')!r}")
            for s in act.get("search", []):
                if s["marked"] < 1 or not s["found"].endswith(("match", "matches")) or s["found"] == "no match":
                    problems.append(f"{path}: searching {s['id']!r} found {s['found']!r}")
            if not act.get("zoomed") or not act.get("fitted"):
                problems.append(f"{path}: zoom buttons did not zoom and fit back ({act})")
            report["pages"].append(page)
            report["problems"] += problems
            browser.send("Target.closeTarget", {"targetId": target})
        for host in frame_files:   # a page that holds the picture in a sandboxed iframe, as a notebook does
            url = "file://" + os.path.abspath(host)
            session, target = browser.open(url, width, height)
            frames = browser.send("Page.getFrameTree", session=session)["frameTree"].get("childFrames", [])
            errors, requests = browser.problems_seen(session, url)
            shot = browser.screenshot(session, os.path.join(screenshot_dir, os.path.splitext(os.path.basename(host))[0] + ".png"))
            report["frames"].append({"file": host, "child_frames": len(frames), "errors": errors, "requests": requests, "screenshot": shot})
            report["problems"] += [f"{host}: {e}" for e in errors] + [f"{host}: network request to {r}" for r in requests]
            if len(frames) != 1:
                report["problems"].append(f"{host}: {len(frames)} child frames instead of 1")
            browser.send("Target.closeTarget", {"targetId": target})
        for svg in svg_files:
            url = "file://" + os.path.abspath(svg)
            session, target = browser.open(url, width, height)
            errors, requests = browser.problems_seen(session, url)
            browser.send("Target.closeTarget", {"targetId": target})
            report["svgs"].append({"file": svg, "browser_errors": errors, "requests": requests})
            report["problems"] += [f"{svg}: {e}" for e in errors] + [f"{svg}: network request to {r}" for r in requests]
    finally:
        browser.close()
    report["seconds"] = round(time.monotonic() - started, 2)
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", action="append", default=[], help="an HTML page to check (repeatable)")
    parser.add_argument("--svg", action="append", default=[], help="an SVG picture to check (repeatable)")
    parser.add_argument("--frame", action="append", default=[],
                        help="a page holding a picture in an iframe, as a notebook does: errors and requests only (repeatable)")
    parser.add_argument("--ids", action="append", default=[],
                        help="a JSON file with the list of model ids each page must show (one per --html, then per --svg)")
    parser.add_argument("--screenshots", default=".", help="folder for the PNG screenshots")
    args = parser.parse_args()
    ids = []
    for path in args.ids:
        with open(path, encoding="utf-8") as f:
            ids.append(json.load(f))
    ids += [[]] * (len(args.html) + len(args.svg) - len(ids))
    os.makedirs(args.screenshots, exist_ok=True)
    try:
        report = check(args.html, args.svg, ids, args.screenshots, frame_files=args.frame)
    except DevToolsError as e:
        print(json.dumps({"problems": [str(e)], "fatal": True}))
        return 2
    print(json.dumps(report, indent=1, ensure_ascii=False))
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
