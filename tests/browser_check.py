"""Check a built Jupyter Book in headless Chromium, and its links on disk.

Used by ``tests/test_book.py``; also runnable by hand on any build::

    .venv/bin/python tests/browser_check.py _build/book-src/_build/html

Two checks:

* :func:`check_links` (no browser): every relative ``href``/``src`` of every page names a file
  of the build tree, and a ``#fragment`` names an element id of its target page.
* :func:`browser_report` (Chromium): each page is opened inside a same-origin frame of a small
  probe page served by ``python -m http.server`` on 127.0.0.1; once the page has loaded, the probe
  records how many images it has, which did not load (``naturalWidth == 0``), and whether any
  cell output shows a traceback or an error on stderr. Chromium prints the probe's DOM
  (``--dump-dom``), which carries that record as JSON.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import posixpath
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

#: Where Debian's ``chromium`` package puts the browser.
CHROMIUM = "/usr/bin/chromium"

PROBE = """<!doctype html>
<html><head><meta charset="utf-8"><title>probe</title></head>
<body><pre id="result">pending</pre>
<iframe id="frame" style="width:1200px;height:900px"></iframe>
<script>
const page = new URLSearchParams(location.search).get("page");
const frame = document.getElementById("frame");
function report() {
  const doc = frame.contentDocument;
  const images = Array.from(doc.images).map(img => ({
    src: img.getAttribute("src") || "",
    loaded: img.complete && img.naturalWidth > 0,
  }));
  const outputs = Array.from(doc.querySelectorAll(".cell_output, .output"));
  const tracebacks = outputs.filter(el => /Traceback \\(most recent call last\\)/.test(
    el.textContent) || el.matches(".traceback, .error")).length;
  const stderrErrors = Array.from(doc.querySelectorAll(".output.stderr, .stderr"))
    .filter(el => /Error/.test(el.textContent)).length;
  document.getElementById("result").textContent = JSON.stringify({
    page: page,
    title: doc.title,
    images: images,
    tracebacks: tracebacks,
    stderr_errors: stderrErrors,
    mathjax: typeof frame.contentWindow.MathJax === "object",
  });
}
frame.addEventListener("load", () => setTimeout(report, 1500));
frame.src = page;
</script></body></html>
"""


class _PageParser(HTMLParser):
    """Collects ids, link targets (``href``) and resource targets (``src``) of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value for name, value in attrs if value is not None}
        if "id" in values:
            self.ids.add(values["id"])
        if tag == "a" and "name" in values:
            self.ids.add(values["name"])
        if tag in ("a", "link") and "href" in values:
            self.links.append(values["href"])
        if tag in ("img", "script") and "src" in values:
            self.sources.append(values["src"])


def parse_page(path: Path) -> _PageParser:
    """Parse one built page."""
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def html_pages(html_dir: Path) -> list[Path]:
    """Every built page, except Sphinx's generated index and search pages' helpers."""
    return sorted(
        p
        for p in html_dir.rglob("*.html")
        if "_static" not in p.parts and "_sources" not in p.parts
    )


def _is_external(target: str) -> bool:
    parts = urlsplit(target)
    return bool(parts.scheme or parts.netloc) or target.startswith(("mailto:", "javascript:"))


def check_links(html_dir: str | Path) -> list[str]:
    """Broken internal links and resources of a build tree.

    Parameters
    ----------
    html_dir
        The ``_build/html`` folder.

    Returns
    -------
    list of str
        One ``page: target (reason)`` line per broken link; empty when all resolve.
    """
    html_dir = Path(html_dir)
    parsed: dict[Path, _PageParser] = {}

    def page(path: Path) -> _PageParser:
        if path not in parsed:
            parsed[path] = parse_page(path)
        return parsed[path]

    problems = []
    for path in html_pages(html_dir):
        info = page(path)
        rel = path.relative_to(html_dir).as_posix()
        for target, kind in [(t, "link") for t in info.links] + [(s, "src") for s in info.sources]:
            if not target or _is_external(target) or target.startswith("data:"):
                continue
            parts = urlsplit(target)
            if parts.path:
                resolved = posixpath.normpath(
                    posixpath.join(posixpath.dirname(rel), unquote(parts.path))
                )
                file = html_dir / resolved
                if resolved.startswith("..") or not file.exists():
                    problems.append(f"{rel}: {target} ({kind} target missing)")
                    continue
                if file.is_dir():
                    file = file / "index.html"
            else:
                file = path
            fragment = unquote(parts.fragment)
            if kind == "link" and fragment and file.suffix == ".html" and file.is_file():
                if fragment not in page(file).ids:
                    problems.append(f"{rel}: {target} (no id {fragment!r} in the target page)")
    return problems


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 with ``python -m http.server``; yields the base URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("python -m http.server did not start")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def dump_dom(url: str, chromium: str = CHROMIUM, timeout: int = 60) -> str:
    """The DOM of ``url`` after a 5 s virtual-time budget, from a fresh headless Chromium."""
    with tempfile.TemporaryDirectory(prefix="cmaf-chromium-") as profile:
        command = [
            "timeout",
            str(timeout),
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--no-default-browser-check",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            url,
        ]
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0 and not proc.stdout:
        tail = proc.stderr.strip().splitlines()[-3:]
        raise RuntimeError(f"chromium failed on {url} (exit {proc.returncode}): {tail}")
    return proc.stdout


def browser_report(html_dir: str | Path, pages: list[str] | None = None) -> dict[str, dict]:
    """Open every page in headless Chromium and report what its probe saw.

    Parameters
    ----------
    html_dir
        The ``_build/html`` folder.
    pages
        Pages relative to ``html_dir``; default every built page.

    Returns
    -------
    dict
        Page -> ``{"images": [{"src", "loaded"}], "tracebacks": int, "stderr_errors": int,
        "mathjax": bool, "title": str}``; a page whose probe did not report has ``{"error":
        reason}``.
    """
    html_dir = Path(html_dir).resolve()
    if pages is None:
        pages = [p.relative_to(html_dir).as_posix() for p in html_pages(html_dir)]
    reports: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="cmaf-serve-") as root:
        root_path = Path(root)
        os.symlink(html_dir, root_path / "site")
        (root_path / "probe.html").write_text(PROBE)
        with serve(root_path) as base:
            for rel in pages:
                dom = dump_dom(f"{base}/probe.html?page=site/{rel}")
                match = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
                text = html.unescape(match.group(1)) if match else ""
                try:
                    reports[rel] = json.loads(text)
                except ValueError:
                    reports[rel] = {"error": f"probe did not report (got {text[:80]!r})"}
    return reports


def page_failures(reports: dict[str, dict]) -> list[str]:
    """One line per problem in :func:`browser_report`'s reports: no report, an image that did
    not load, a traceback or an error shown in a cell output."""
    failures = []
    for page, report in reports.items():
        if "error" in report:
            failures.append(f"{page}: {report['error']}")
            continue
        broken = [img["src"][:60] for img in report["images"] if not img["loaded"]]
        if broken:
            failures.append(f"{page}: images that did not load: {broken}")
        if report["tracebacks"] or report["stderr_errors"]:
            failures.append(f"{page}: a cell output shows a traceback or an error")
    return failures


def chromium_available() -> str | None:
    """Path of a usable Chromium, or ``None``."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    return shutil.which("chromium")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: browser_check.py HTML_DIR", file=sys.stderr)
        return 2
    html_dir = Path(args[0])
    failures = check_links(html_dir)
    if chromium_available():
        reports = browser_report(html_dir)
        for page, report in reports.items():
            if "error" not in report:
                print(f"{page}: {len(report['images'])} images, mathjax {report['mathjax']}")
        failures += page_failures(reports)
    else:
        print("chromium not found: only links were checked", file=sys.stderr)
    for line in failures:
        print(line, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
