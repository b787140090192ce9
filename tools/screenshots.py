"""The README's pictures, regenerated from the code so they never drift from it.

Usage (from the repository root; Debian's ``chromium`` on the PATH and ``fonts-noto-color-emoji``
installed, else the comment's emoji show as empty boxes)::

    python tools/screenshots.py            # writes docs/lp-email.png and docs/pr-comment.png

* ``docs/lp-email.png``: the LP e-mail of the bundled demo (its last complete week, charts
  inlined), 600 px wide as a phone or a narrow mail pane shows it.
* ``docs/pr-comment.png``: the demo's PR comment, rendered through ``cmarkgfm`` (GitHub's own
  Markdown library) into GitHub-like HTML.

Both are taken by headless Chromium (``--screenshot``) at the page's full height, measured first
with :func:`page_size`. :func:`page_size` is also what the tests use to check that the e-mail
does not overflow 600 px.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WIDTH = 600
COMMENT_WIDTH = 900
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)
_MEASURE = (
    "<script>window.addEventListener('load', function () {"
    "var e = document.documentElement; document.body.setAttribute('data-size',"
    " e.scrollWidth + 'x' + e.scrollHeight); });</script>"
)
GITHUB_CSS = """
body { margin: 0; background: #ffffff; }
.markdown-body { box-sizing: border-box; max-width: 880px; margin: 0 auto; padding: 24px 28px;
  font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif;
  font-size: 14px; line-height: 1.5; color: #1f2328; border: 1px solid #d0d7de; border-radius: 6px; }
.markdown-body h1, .markdown-body h2, .markdown-body h3 { margin: 20px 0 12px; font-weight: 600;
  line-height: 1.25; }
.markdown-body h2 { font-size: 1.4em; padding-bottom: .3em; border-bottom: 1px solid #d1d9e0; }
.markdown-body h3 { font-size: 1.2em; }
.markdown-body table { border-collapse: collapse; margin: 0 0 16px; display: block; overflow: auto; }
.markdown-body th, .markdown-body td { padding: 6px 13px; border: 1px solid #d1d9e0; }
.markdown-body th { font-weight: 600; background: #f6f8fa; }
.markdown-body tr:nth-child(2n) td { background: #f6f8fa; }
.markdown-body code { padding: .2em .4em; font-size: 85%; background: #eff1f3; border-radius: 6px;
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.markdown-body blockquote { margin: 0 0 16px; padding: 0 1em; color: #59636e;
  border-left: .25em solid #d1d9e0; }
.markdown-body details { margin: 0 0 16px; }
.markdown-body summary { cursor: pointer; font-weight: 600; }
"""


def chromium() -> str | None:
    """The Chromium binary, or ``None`` when there is none."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(args: list[str], profile: str) -> str:
    binary = chromium()
    if binary is None:
        raise RuntimeError("chromium not found on the PATH")
    command = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def page_size(html: str, width: int = WIDTH) -> tuple[int, int]:
    """``(scrollWidth, scrollHeight)`` of the page laid out in a ``width``-pixel-wide window."""
    measured = html.replace("</body>", _MEASURE + "</body>", 1)
    with tempfile.TemporaryDirectory() as scratch:
        page = Path(scratch) / "page.html"
        page.write_text(measured, encoding="utf-8")
        dom = _run(
            [f"--window-size={width},2000", "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
            str(Path(scratch) / "profile"),
        )
    found = re.search(r'data-size="(\d+)x(\d+)"', dom)
    if found is None:
        raise RuntimeError("chromium did not report the page size")
    return int(found.group(1)), int(found.group(2))


def screenshot(html: str, target: Path, width: int = WIDTH) -> tuple[int, int]:
    """A PNG of the whole page at ``width`` pixels; returns the page's measured size."""
    size = page_size(html, width)
    with tempfile.TemporaryDirectory() as scratch:
        page = Path(scratch) / "page.html"
        page.write_text(html, encoding="utf-8")
        _run(
            [
                f"--window-size={width},{size[1]}",
                "--virtual-time-budget=5000",
                f"--screenshot={target}",
                page.as_uri(),
            ],
            str(Path(scratch) / "profile"),
        )
    return size


def demo_email_html() -> str:
    """The demo's LP e-mail as a browser shows it (charts as ``data:`` URIs)."""
    from metasup.examples import CONFIG_PATH
    from metasup.lp.charts import render_charts
    from metasup.lp.email import preview_html
    from metasup.lp.report import build_lp_report, last_complete_period
    from metasup.runner import default_as_of, load_workspace, supervise_workspace

    workspace = load_workspace(CONFIG_PATH)
    as_of = default_as_of(workspace.artifacts)
    supervision = supervise_workspace(workspace, as_of, None)
    period = last_complete_period(as_of, workspace.config.email.cadence)
    report = build_lp_report(supervision, workspace.config, as_of, period)
    return preview_html(report, render_charts(report))


def demo_comment_html() -> str:
    """The demo's PR comment through cmarkgfm, in a GitHub-like page."""
    import cmarkgfm
    from cmarkgfm.cmark import Options

    from metasup.examples import CONFIG_PATH
    from metasup.render.comment import render_comment
    from metasup.runner import default_as_of, load_workspace, supervise_workspace

    workspace = load_workspace(CONFIG_PATH)
    as_of = default_as_of(workspace.artifacts)
    review = supervise_workspace(workspace, as_of, None).review
    body = render_comment(review, workspace.config).body.replace(str(Path(CONFIG_PATH).parent), "<workspace>")
    html = cmarkgfm.github_flavored_markdown_to_html(body, options=Options.CMARK_OPT_UNSAFE)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>PR comment</title>'
        f"<style>{GITHUB_CSS}</style></head><body>"
        f'<div style="padding:16px;"><article class="markdown-body">{html}</article></div></body></html>'
    )


def main(argv: list[str] | None = None) -> int:
    # Takes no option; argparse so that ``--help`` explains instead of overwriting the pictures.
    argparse.ArgumentParser(description="Regenerate docs/lp-email.png and docs/pr-comment.png.").parse_args(
        argv
    )
    docs = ROOT / "docs"
    email_size = screenshot(demo_email_html(), docs / "lp-email.png", WIDTH)
    print(f"docs/lp-email.png: page {email_size[0]}x{email_size[1]} at {WIDTH} px")
    comment_size = screenshot(demo_comment_html(), docs / "pr-comment.png", COMMENT_WIDTH)
    print(f"docs/pr-comment.png: page {comment_size[0]}x{comment_size[1]} at {COMMENT_WIDTH} px")
    return 0


if __name__ == "__main__":
    sys.exit(main())
