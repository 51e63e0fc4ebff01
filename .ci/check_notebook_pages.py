"""Fails unless every notebook's page in the built site shows its outputs.

    python3 .ci/check_notebook_pages.py EXAMPLES_DIR SITE_DIR

The docs render the notebooks as committed (mkdocs-jupyter, `execute:
false`), so a page shows what its `.ipynb` holds. For each
`EXAMPLES_DIR/NAME.ipynb`, `SITE_DIR/examples/NAME/index.html` must have at
least one output and one image, and at least as many output areas as the
notebook has outputs, and as many embedded PNG images as it has PNG outputs.
The notebook must have outputs: one committed without them fails here too.
Standard library only: it runs in any Python.
"""

import json
import pathlib
import re
import sys

# An output as mkdocs-jupyter (nbconvert's lab template) renders it: the
# page's stylesheet names the class too, so only class attributes count.
OUTPUT_AREA = re.compile(r'class="[^"]*\bjp-OutputArea-output\b[^"]*"')
PNG = re.compile(r'<img\b[^>]*\bsrc="data:image/png;base64,')


def problems(notebook, page):
    """What is missing from `page` (HTML text) for `notebook` (a dict)."""
    outputs = [output for cell in notebook["cells"] if cell["cell_type"] == "code"
               for output in cell.get("outputs", [])]
    pngs = sum("image/png" in output.get("data", {}) for output in outputs)
    found = []
    if not outputs or not pngs:
        found.append(f"the notebook holds {len(outputs)} outputs and {pngs} PNG "
                     "images: run examples/execute.py")
    areas, images = len(OUTPUT_AREA.findall(page)), len(PNG.findall(page))
    if areas < max(len(outputs), 1):
        found.append(f"{areas} output areas for the notebook's {len(outputs)} outputs")
    if images < max(pngs, 1):
        found.append(f"{images} PNG images for the notebook's {pngs}")
    return found


def main(examples, site):
    failed = False
    notebooks = sorted(pathlib.Path(examples).glob("*.ipynb"))
    if not notebooks:
        sys.exit(f"no notebooks in {examples}")
    for path in notebooks:
        page = pathlib.Path(site) / "examples" / path.stem / "index.html"
        if not page.exists():
            found = [f"no page {page}"]
        else:
            found = problems(json.loads(path.read_text()), page.read_text())
        for problem in found:
            print(f"{path.name}: {problem}", file=sys.stderr)
        failed = failed or bool(found)
    if failed:
        sys.exit(1)
    print(f"notebook pages: {len(notebooks)} with their outputs")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1].strip())
    main(*sys.argv[1:])
