"""Checks the contents of the sdist and the wheel that `python -m build` made.

    python check_dist.py SOURCE_DIR DIST_DIR

SOURCE_DIR is the clean checkout they were built from. The wheel must hold
exactly the package's modules, the top-level `keras_rnninit_cli` module and
its metadata (no tests, benchmarks, notebooks or docs); the sdist exactly
what rebuilding needs plus README, LICENSE and CHANGELOG. The metadata must
carry the version of `keras_rnninit/version.py`, both console scripts, and
`tune` and `data` extras that contain every requirement of `tasks` (CI
installs those two on top of one `tasks` environment). Prints a summary.
"""

import email.parser
import pathlib
import re
import sys
import tarfile
import zipfile


def fail(message):
    sys.exit(f"check_dist.py: {message}")


def compare(kind, found, expected):
    if found != expected:
        fail(f"the {kind} holds unexpected files {sorted(found - expected)} and lacks "
             f"{sorted(expected - found)}")


def requirements(metadata, extra):
    marker = re.compile(r';\s*extra\s*==\s*"' + re.escape(extra) + '"$')
    return {marker.sub("", r).strip() for r in metadata.get_all("Requires-Dist")
            if marker.search(r)}


def main(source, dist):
    source, dist = pathlib.Path(source), pathlib.Path(dist)
    version = {}
    exec((source / "keras_rnninit" / "version.py").read_text(), version)
    version = version["__version__"]
    modules = {p.relative_to(source).as_posix()
               for p in (source / "keras_rnninit").rglob("*.py")}
    modules.add("keras_rnninit_cli.py")
    wheels, sdists = list(dist.glob("*.whl")), list(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        fail(f"expected one wheel and one sdist in {dist}, found {wheels + sdists}")
    wheel, sdist = wheels[0], sdists[0]
    if wheel.name != f"keras_rnninit-{version}-py3-none-any.whl":
        fail(f"wheel {wheel.name}: expected version {version}, tag py3-none-any")

    info = f"keras_rnninit-{version}.dist-info"
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        metadata = email.parser.Parser().parsestr(z.read(f"{info}/METADATA").decode())
        entry_points = z.read(f"{info}/entry_points.txt").decode()
    compare("wheel", names, modules | {f"{info}/{n}" for n in (
        "METADATA", "WHEEL", "RECORD", "entry_points.txt", "top_level.txt",
        "licenses/LICENSE")})
    if metadata["Version"] != version:
        fail(f"wheel metadata version {metadata['Version']}, version.py {version}")
    for script in ("rnninit-tune", "rnninit-train"):
        if not re.search(rf"^{script} = keras_rnninit_cli:", entry_points, re.M):
            fail(f"the wheel has no console script {script}")
    tasks = requirements(metadata, "tasks")
    for extra in ("tune", "data"):
        if not tasks or not tasks <= requirements(metadata, extra):
            fail(f"extra {extra!r} lacks requirements of 'tasks': "
                 f"{sorted(tasks - requirements(metadata, extra))}")

    root = f"keras_rnninit-{version}"
    with tarfile.open(sdist) as t:
        members = {m.name[len(root) + 1:] for m in t.getmembers() if m.isfile()}
    egg_info = {m for m in members if m.startswith("keras_rnninit.egg-info/")}
    compare("sdist", members - egg_info, modules | {
        "PKG-INFO", "setup.py", "setup.cfg", "pyproject.toml", "MANIFEST.in",
        "README.md", "LICENSE", "CHANGELOG.md"})

    print(f"wheel {wheel.name}: {wheel.stat().st_size / 1024:.0f} KiB, "
          f"{len(names)} files "
          f"({len(modules) - 1} package modules, keras_rnninit_cli.py, "
          f"{len(names) - len(modules)} metadata)")
    print(f"sdist {sdist.name}: {sdist.stat().st_size / 1024:.0f} KiB, "
          f"{len(members)} files "
          f"(the wheel's modules, setup.py, setup.cfg, pyproject.toml, MANIFEST.in, "
          f"README.md, LICENSE, CHANGELOG.md, PKG-INFO, {len(egg_info)} egg-info)")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        fail("usage: check_dist.py SOURCE_DIR DIST_DIR")
    main(*sys.argv[1:])
