"""Read or rewrite the ``runs.image`` of action.yml: how a release commit points at its prebuilt image.

Usage:
    python tools/action_image.py show [--file action.yml]
    python tools/action_image.py set IMAGE [--file action.yml]      # image: docker://IMAGE
    python tools/action_image.py check IMAGE [--file action.yml]    # exit 1 unless it is docker://IMAGE

``main`` keeps ``image: Dockerfile`` (CI and ``uses: …@<main sha>`` build from source); the commit a
version tag points at says ``image: docker://ghcr.io/<owner>/metasup:<version>`` (docs/release.md).
Only the ``image:`` line changes; comments and layout stay.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

IMAGE_LINE = re.compile(r"^(?P<indent>[ ]+)image:[ ]*(?P<value>\S.*?)[ ]*$", re.M)


def current(text: str) -> str:
    image: str = yaml.safe_load(text)["runs"]["image"]
    return image


def rewrite(text: str, image: str) -> str:
    runs = text.index("\nruns:")
    match = IMAGE_LINE.search(text, runs)
    if match is None:
        raise ValueError("action.yml has no runs.image line")
    value = image if image == "Dockerfile" else f"docker://{image}"
    new = text[: match.start("value")] + value + text[match.end("value") :]
    if current(new) != value:
        raise ValueError(f"rewriting gave runs.image = {current(new)!r}, not {value!r}")
    return new


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["show", "set", "check"])
    parser.add_argument("image", nargs="?", help="REGISTRY/metasup:vX.Y.Z (without docker://), or Dockerfile")
    parser.add_argument("--file", type=Path, default=Path(__file__).resolve().parents[1] / "action.yml")
    args = parser.parse_args(argv)
    text = args.file.read_text(encoding="utf-8")
    if args.command == "show":
        print(current(text))
        return 0
    if not args.image:
        parser.error(f"{args.command} needs IMAGE")
    if args.command == "set":
        args.file.write_text(rewrite(text, args.image), encoding="utf-8")
        print(current(args.file.read_text(encoding="utf-8")))
        return 0
    expected = args.image if args.image == "Dockerfile" else f"docker://{args.image}"
    if current(text) != expected:
        print(f"{args.file}: runs.image is {current(text)!r}, expected {expected!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
