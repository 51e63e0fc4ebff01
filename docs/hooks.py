"""MkDocs hook: files that live outside docs/ join the site where they are.

- `examples/*.ipynb` become pages `examples/<name>/` (rendered, not run, by
  mkdocs-jupyter, which runs after this hook);
- the reports `benchmarks/results/*.md` become pages `results/<name>/` and
  their plots (`benchmarks/results/**/*.png`) `results/<path>`, so that the
  reports' relative image links resolve unchanged;
- `CHANGELOG.md` becomes the page `changelog/`.

Nothing is copied into docs/: the site always shows the committed files.
A notebook's links to the other notebooks (`sensitivity.ipynb`, right in
Jupyter and on Colab) are pointed at their pages.
"""

import pathlib
import re

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


@event_priority(100)  # before mkdocs-jupyter turns notebooks into pages
def on_files(files, config):
    def add(uri, path, src_dir=None):
        if files.get_file_from_path(uri) is not None:
            raise ValueError(f"docs/{uri} would hide {path.relative_to(ROOT)}")
        if src_dir is None:
            files.append(File.generated(config, uri, abs_src_path=str(path)))
        else:
            # mkdocs-jupyter reads a notebook from its src_dir.
            files.append(File(uri, str(src_dir), config["site_dir"],
                              config["use_directory_urls"]))

    for notebook in sorted((ROOT / "examples").glob("*.ipynb")):
        add(f"examples/{notebook.name}", notebook, ROOT)
    for report in sorted(RESULTS.glob("*.md")):
        add(f"results/{report.name}", report)
    for image in sorted(RESULTS.rglob("*.png")):
        add(f"results/{image.relative_to(RESULTS).as_posix()}", image)
    add("changelog.md", ROOT / "CHANGELOG.md")
    return files


def on_page_content(html, page, config, files):
    if not page.file.src_uri.startswith("examples/") or not page.file.src_uri.endswith(
            ".ipynb"):
        return html
    notebooks = {p.stem for p in (ROOT / "examples").glob("*.ipynb")}

    def to_page(match):
        name, anchor = match.group(2), match.group(3) or ""
        if name not in notebooks:
            return match.group(0)
        return f'{match.group(1)}"../{name}/{anchor}"'

    return re.sub(r'(href=)"([\w-]+)\.ipynb(#[^"]*)?"', to_page, html)
