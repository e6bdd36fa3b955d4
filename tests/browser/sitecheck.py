"""What a reader would see wrong on a page, checked in a real browser (headless Chromium).

``check_site`` opens every page of a built site at each width, with the network cut off
except for the site's own server, and reports each defect as a ``Problem``:

- ``overflow``: a table or code block wider than its container, with no wrapping and no
  horizontal scroll box (the reader cannot see its right side);
- ``ledger``: a claims-ledger verdict or note cell that is not on screen;
- ``math``: LaTeX left as source (``\\(``, ``$$``) or a math block MathJax did not render;
- ``text``: ``NaN``, ``None`` or ``Traceback`` in the page's content, or a code name
  (``mean_prompt_tokens``) as a table heading;
- ``figure-text``: a figure whose smallest text (the size the book wrote into its PNG, scaled
  by the width the page shows it at) is under ``MIN_TEXT_PX`` high;
- ``column``: a table cell of long text squeezed to under ``MIN_COLUMN_CHARS`` a line;
- ``header``: a table header kept in view (sticky) that covers the table's first row;
- ``image``: an image that did not load, whose alt text is missing, a file name or path,
  or (on a desktop) a figure shrunk below 75% of its size, where its text is too small;
- ``markup``: elements inside model output (``.model-output``) or inside a table cell of a
  data table: model text rendered as HTML instead of shown as text;
- ``console``: a console error or uncaught exception;
- ``offline``: a request to anything but the site itself (a CDN, say);
- ``link``: a link, image, script or stylesheet of the site that does not resolve, or a link
  to an anchor that its page does not have.

Screenshots of every page at every width go to ``screenshots`` for review.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urldefrag

WIDTHS = {"desktop": (1280, 900), "phone": (412, 915)}
#: the smallest readable text inside a figure, in CSS pixels, at either width
MIN_TEXT_PX = 8.0
#: the fewest characters a line of a text column may hold
MIN_COLUMN_CHARS = 12
#: the PNG text key the book writes its figures' smallest text size under
MIN_TEXT_KEY = "reportlib:min-text-px"

#: Debian's chromium (``make test`` installs it); no browser is downloaded
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")

#: pages of the site that are not reading pages
SKIPPED = ("genindex.html", "search.html", "py-modindex.html")

#: the checks run inside each page: its problems, its links and its anchors
PAGE_CHECKS_JS = (Path(__file__).parent / "page_checks.js").read_text()


@dataclass(frozen=True)
class Problem:
    """One defect a reader would see: on which page, at which width, what."""

    page: str
    width: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.page} [{self.width}] {self.kind}: {self.detail}"


def find_chromium() -> str | None:
    """The path of a Chromium the system has, or None."""
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextlib.contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve ``root`` on loopback; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def site_pages(root: Path) -> list[str]:
    """The reading pages of a built site, relative to its root."""
    pages = []
    for path in sorted(root.rglob("*.html")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(("_", ".")) or rel in SKIPPED:
            continue
        if path.stat().st_size < 400 and "http-equiv" in path.read_text(errors="replace"):
            continue  # a redirect (index.html)
        pages.append(rel)
    return pages


def check_site(
    root: Path,
    pages: list[str] | None = None,
    screenshots: Path | None = None,
    widths: dict[str, tuple[int, int]] = WIDTHS,
) -> list[Problem]:
    """Open ``pages`` of the site at ``root`` (all reading pages by default) at every width
    in headless Chromium; the defects found, screenshots written to ``screenshots``."""
    from playwright.sync_api import sync_playwright

    chromium = find_chromium()
    if chromium is None:
        raise RuntimeError("no Chromium found: install Debian's chromium (make test does)")
    pages = site_pages(root) if pages is None else pages
    problems: list[Problem] = []
    links: dict[str, str] = {}  # url -> first page linking to it
    anchors: dict[str, set[str]] = {}  # page url -> ids it has
    if screenshots is not None:
        screenshots.mkdir(parents=True, exist_ok=True)
    with serve(root) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            for width, (w, h) in widths.items():
                context = browser.new_context(viewport={"width": w, "height": h})
                for rel in pages:
                    problems += _check_page(context, base, rel, width, links, anchors, screenshots)
                context.close()
            problems += _check_links(browser, base, links, anchors)
        finally:
            browser.close()
    return problems


def _check_page(context, base, rel, width, links, anchors, screenshots) -> list[Problem]:  # type: ignore[no-untyped-def]
    found: list[Problem] = []
    page = context.new_page()

    def offline(route) -> None:  # type: ignore[no-untyped-def]
        url = route.request.url
        if url.startswith(base) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            found.append(Problem(rel, width, "offline", f"request to {url}"))
            route.abort()

    page.route("**/*", offline)
    page.on(
        "console",
        lambda m: m.type == "error" and found.append(Problem(rel, width, "console", m.text[:200])),
    )
    page.on("pageerror", lambda e: found.append(Problem(rel, width, "console", str(e)[:200])))
    response = page.goto(base + rel, wait_until="networkidle")
    if response is None or response.status != 200:
        found.append(
            Problem(rel, width, "link", f"the page itself answered {response and response.status}")
        )
    page.evaluate(  # MathJax typesets after the page has loaded
        "async () => { if (window.MathJax && MathJax.startup && MathJax.startup.promise)"
        " await MathJax.startup.promise; }"
    )
    result = page.evaluate(
        PAGE_CHECKS_JS, [width == "desktop", MIN_TEXT_PX, MIN_COLUMN_CHARS, MIN_TEXT_KEY]
    )
    found += [Problem(rel, width, p["kind"], p["detail"]) for p in result["problems"]]
    url = base + rel
    anchors[url] = set(result["ids"])
    for link in result["links"]:
        links.setdefault(link, rel)
    if screenshots is not None:
        name = rel.removesuffix(".html").replace("/", "-")
        page.screenshot(path=str(screenshots / f"{name}-{width}.png"), full_page=True)
    page.close()
    return found


def _check_links(browser, base, links, anchors) -> list[Problem]:  # type: ignore[no-untyped-def]
    found = []
    context = browser.new_context()
    checked: dict[str, int] = {}
    for link, rel in sorted(links.items()):
        if not link.startswith(base):
            continue  # external links are not followed offline
        target, fragment = urldefrag(link)
        if target not in checked:
            checked[target] = context.request.get(target).status
        if checked[target] != 200:
            found.append(Problem(rel, "any", "link", f"{link} answers {checked[target]}"))
        elif fragment and target in anchors and fragment not in anchors[target]:
            found.append(Problem(rel, "any", "link", f"{link}: no anchor #{fragment}"))
    context.close()
    return found
