"""Sphinx configuration for the Timelog docs (built with -W: warnings fail).

Pages are Markdown (MyST); the API reference is generated with autodoc from
the docstrings of the installed ``timelog`` package, so build after
installing it.  ``TIMELOG_BACKEND`` picks which backend's docstrings the
reference shows; every backend exposes the same names.
"""
import os

import timelog

project = "Timelog"
author = "The Timelog team"
copyright = "2026, the Timelog team"
release = timelog.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "requirements.txt", "README.md"]

# The conformance page is written by the conformance suite's owner; the
# toctree lists it only once it exists, so the build never depends on order
# of arrival.
HAVE_CONFORMANCE = os.path.exists(os.path.join(os.path.dirname(__file__), "conformance.md"))
# A config value (registered in setup) so that an incremental build re-reads
# every page when the conformance page appears or goes.
timelog_have_conformance = HAVE_CONFORMANCE

myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]

napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_custom_sections = ["Thread Safety"]
napoleon_use_rtype = False

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_inherit_docstrings = True

html_theme = "alabaster"
html_static_path = ["_static"]
html_title = f"Timelog {release}"
html_theme_options = {"description": "An in-memory time index for Python", "fixed_sidebar": True,
                      "page_width": "1100px"}


def _drop_missing_conformance(app, docname, source):
    if docname == "index" and not HAVE_CONFORMANCE:
        source[0] = "\n".join(line for line in source[0].splitlines()
                              if line.strip() != "conformance")


def setup(app):
    app.add_config_value("timelog_have_conformance", False, "env")
    app.connect("source-read", _drop_missing_conformance)
