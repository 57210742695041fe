#!/usr/bin/env bash
# Writes .dvc/plots_page.html: the page `dvc plots show` fills (.dvc/config: plots.html_template), with
# Vega, Vega-Lite and Vega-Embed inlined, so the plots open without a network. DVC's own page loads the same
# versions (dvc-render's VegaRenderer.SCRIPTS) from a CDN, and shows nothing offline.
# Needs npm and the network once; the page is committed.  Usage: bash docs/offline_plots_page.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for package in vega@5.20.2 vega-lite@5.2.0 vega-embed@6.18.2; do  # the versions dvc-render asks for
  (cd "$work" && npm pack --silent "$package" >/dev/null)
done
{
  printf '<!DOCTYPE html>\n<html>\n<head>\n{refresh_tag}\n<meta charset="utf-8">\n<title>DVC plots</title>\n'
  for tarball in vega-5.20.2 vega-lite-5.2.0 vega-embed-6.18.2; do
    name=${tarball%-*}
    tar -xzf "$work/$tarball.tgz" -C "$work" package/build/$name.min.js package/LICENSE
    printf '<script type="text/javascript">\n/* %s (npm %s), under this licence:\n\n' "$name" "$tarball"
    sed 's#\*/#* /#g' "$work/package/LICENSE"
    printf '*/\n'
    sed 's#</script#<\\/script#g' "$work/package/build/$name.min.js"
    printf '\n</script>\n'
    rm -rf "$work/package"
  done
  printf '<style>body{font-family:sans-serif;margin:1.5em} table{border-spacing:15px}</style>\n</head>\n'
  printf '<body>\n{plot_divs}\n</body>\n</html>\n'
} > .dvc/plots_page.html
echo "wrote .dvc/plots_page.html ($(du -k .dvc/plots_page.html | cut -f1) kB)"
