"""The page machinery of viz's interactive viewers: the backward stepper and the training player.

Both are one self-contained HTML fragment: a container ``<div>`` with a
fresh id, the viewer's CSS, a fallback for where scripts do not run, and one
script holding the viewer's JavaScript and its data (JSON). ``Page`` gives a
viewer ``to_html()``, ``_repr_html_()`` (Jupyter) and ``save(path)`` (a
standalone page); a viewer only says what goes inside.

Why it is built this way:

- Several viewers on one page, or one output shown in two JupyterLab views,
  must not interfere: everything is scoped to the container, found from the
  running script (``document.currentScript``), with its id as fallback; the
  ids inside an inline SVG are prefixed with the container id.
- Jupyter does not run the scripts of an *untrusted* notebook (one opened
  from elsewhere and not run again), and its sanitizer strips ``<svg>``,
  ``<style>`` and ``<script>`` but keeps ``<img>`` with a ``data:`` URI
  (JupyterLab does not check the scheme of ``src``). So each viewer carries a
  note and static pictures as ``<img>``; the script removes both when it runs.
  A picture that the script also needs (the stepper's graph, the player's
  network) travels only once, inside its ``<img>``: the script reads the SVG
  back from the data URI (``chainruleSvgOf`` in page.js).
- The data is JSON inside ``<script>``: ``script_json`` makes sure no label can
  end the script or open an HTML comment there.
- No remote resource of any kind (no CDN, no web fonts): it works offline, in
  JupyterLab, Notebook 7, VS Code, nbconvert's HTML and any browser.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from importlib import resources
from pathlib import Path

from . import _style


def asset(name: str) -> str:
    """A file shipped inside the viz package (a viewer's CSS or JavaScript)."""
    return resources.files("viz").joinpath(name).read_text(encoding="utf-8")


def new_container_id(kind: str) -> str:
    """A fresh id for one display of a viewer: ``kind`` plus 12 random hex digits."""
    return f"{kind}-{secrets.token_hex(6)}"


_XML_PROLOG = re.compile(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<!--.*?-->", re.DOTALL)
_ID_ATTRIBUTE = re.compile(r'\bid="([^"]*)"')
_ID_REFERENCE = re.compile(r'(url\(#|href="#)([^")]*)')


def prefix_ids(svg: str, prefix: str) -> str:
    """The SVG inlineable in HTML: no XML prolog or comments, every id (and use of one) prefixed."""
    svg = _XML_PROLOG.sub("", svg).strip()
    svg = _ID_ATTRIBUTE.sub(lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    return _ID_REFERENCE.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", svg)


def script_json(payload) -> str:
    """payload as a JavaScript literal that cannot end or comment out the <script> around it."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # A lone surrogate in a label cannot be written as UTF-8: its JSON escape (\ud800)
    # gives JavaScript the very same string.
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text.replace("</", "<\\/").replace("<!--", "<\\u0021--")


def svg_data_uri(svg: str) -> str:
    """An SVG as a ``data:`` URI for ``<img src>`` (base64, so any label survives)."""
    encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f"data:image/svg+xml;base64,{encoded}"


def png_data_uri(png: bytes) -> str:
    return f"data:image/png;base64,{base64.b64encode(png).decode('ascii')}"


def picture(uri: str, alt: str, css_class: str) -> str:
    """A static picture for the fallback: an <img> the notebook sanitizer keeps."""
    return (
        f'<img class="{css_class}" src="{uri}" alt="{_style.html_text(alt)}" '
        'style="max-width:100%;height:auto">'
    )


def note(what: str) -> str:
    """The fallback note: why the viewer does not run here and how to get it."""
    return (
        f"{what} needs JavaScript, which Jupyter runs only in trusted notebooks: run the cell "
        "again (or <code>jupyter trust</code> the notebook), or open the file written by "
        "<code>.save()</code> in a browser. Shown here as a static picture:"
    )


_FRAGMENT = """\
<div class="{kind}" id="{id}" tabindex="0" data-lm-suppress-shortcuts="true">
<style>{css}</style>
<div class="{kind}-nojs"><div class="{kind}-note">{note}</div>
{pictures}</div>
<script>(function () {{
{js}
// The script's own container first: JupyterLab may show one output in several views.
var script = document.currentScript, root = script && script.parentNode;
if (!root || root.id !== "{id}") root = document.getElementById("{id}");
{entry}(root, {data});
}})();</script>
</div>
"""

_DOCUMENT = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
</head>
<body>
{body}
</body>
</html>
"""


class Page:
    """Base of the viewers: HTML for Jupyter and for files, from what ``_content`` gives.

    A subclass sets ``kind`` (the container's CSS class and id prefix),
    ``css``, ``js`` (asset names; page.css and page.js, shared, come first by
    themselves), ``entry``
    (the JavaScript function that builds the viewer) and ``what`` (its name in
    the fallback note), and implements ``_content(container)`` returning
    ``(data, pictures)``: the payload for the script and the fallback's
    pictures as ``(data URI, alt text)`` pairs; and ``_title()``.
    """

    kind = ""
    css: tuple[str, ...] = ()
    js: tuple[str, ...] = ()
    entry = ""
    what = "This viewer"

    def _content(self, container: str) -> tuple[dict, list[tuple[str, str]]]:
        raise NotImplementedError

    def _title(self) -> str:
        raise NotImplementedError

    def to_html(self, full_document: bool = False) -> str:
        """The viewer as an HTML fragment (or a whole page), with a fresh container id."""
        container = new_container_id(self.kind)
        data, pictures = self._content(container)
        fragment = _FRAGMENT.format(
            kind=self.kind,
            id=container,
            css="\n".join(asset(name) for name in ("page.css", *self.css)),
            note=note(self.what),
            pictures="\n".join(
                picture(uri, alt, f"{self.kind}-picture") for uri, alt in pictures
            ),
            js="\n".join(asset(name) for name in ("page.js", *self.js)),
            entry=self.entry,
            data=script_json(data),
        )
        if not full_document:
            return fragment
        return _DOCUMENT.format(title=_style.html_text(self._title()), body=fragment)

    def _repr_html_(self) -> str:
        return self.to_html()

    def save(self, path) -> Path:
        """Writes the viewer as a standalone HTML page; returns the path."""
        path = Path(path)
        path.write_text(self.to_html(full_document=True), encoding="utf-8")
        return path
