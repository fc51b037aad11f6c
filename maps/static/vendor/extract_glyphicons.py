"""Print Bootstrap 3's glyphicon rules (the ``@font-face`` and ``.glyphicon*``
rules only) from its ``bootstrap.css``: folium's ``Icon`` defaults to the
glyphicon prefix, and the whole of Bootstrap 3 would fight Bootstrap 5.

Used by ``refresh.sh``; the font list is cut to woff2/woff (every browser
that runs Leaflet 1.9 reads one of them).
"""

import re
import sys

FONT_FACE = """@font-face {
  font-family: "Glyphicons Halflings";
  src: url("../fonts/glyphicons-halflings-regular.woff2") format("woff2"),
    url("../fonts/glyphicons-halflings-regular.woff") format("woff");
}"""


def main(path: str) -> None:
    with open(path, encoding="utf-8") as fh:
        css = fh.read()
    start = css.index('@font-face {\n  font-family: "Glyphicons Halflings"')
    out = ["/* Bootstrap v3.4.1 glyphicon rules | MIT License | getbootstrap.com */", FONT_FACE]
    for rule in re.findall(r"[^{}]+\{[^{}]*\}", css[start:]):
        selector = rule.split("{", 1)[0].strip()
        if selector.startswith("@font-face"):
            continue
        if not all(s.strip().startswith(".glyphicon") for s in selector.split(",")):
            break
        out.append(rule.strip())
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
