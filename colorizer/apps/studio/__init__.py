"""Command ``colorize-studio``: colour a photograph in the browser, point by point, and see it follow.

    colorize-studio [FOLDER] [--model models/colorizer.keras] [--output coloured] [--host 127.0.0.1] [--port 8765]

A page served on this machine (127.0.0.1 unless ``--host`` says otherwise) opens a photograph of FOLDER, or one
uploaded, and colours it at once. A click on it adds a colour hint there (`colorizer.hints`), of the colour shown
at that point; the colours the network finds most likely at that point (`colorizer.inference.suggestions`,
distribution-head models) and a colour picker change it. Points can be dragged, deleted and undone, and the
colouring follows each change. Save writes the full-resolution result and its hints sidecar (``<photograph's file
name>.hints.json``) into the output folder, exactly as ``colorize --hints`` would produce them again.

How it stays live: the network runs at the working size (``--size``, 256 px long side, as ``colorize``); what the
page shows is that colour on the photograph's lightness at up to `PREVIEW` pixels, sent as a JPEG; the full
resolution only on Save. The page keeps one request in flight and folds every change made meanwhile into the
next one, and the server drops a request that a newer one of the same photograph has overtaken while it waited
for the network: clicks faster than the network are superseded, never queued.

What it refuses: a name outside FOLDER (``..``, an absolute path, a link leading out of it), an upload larger than
``--max-upload-mb`` or that Pillow cannot open (a message on the page; the server goes on), a write outside the
output folder or over the photograph itself, and on the loopback address a request whose Host header names
another site (DNS rebinding). Every asset is served from this package (``static/``): the page loads nothing from
another site. The standard library's `http.server` serves it: no dependency beyond the project's own.

Its modules: ``workspace`` (`workspace.Studio`: what the page works on, without HTTP), ``folders`` (what it reads
and where it writes), ``opened`` (the photographs open at once), ``ordering`` (requests overtaken by newer
ones), ``points`` (the page's points as hints), ``refusals``, ``server`` (the HTTP server), ``command`` (the
command line), and the page itself in ``static/``.
"""
