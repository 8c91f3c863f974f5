"""Keep the website self-contained.

sphinx-thebe (loaded by Jupyter Book whether or not live code is enabled) registers its config
script once per read of the documents; sphinxcontrib-bibtex makes Sphinx read twice, so the page
would declare ``const THEBE_JS_URL`` twice and throw. The book does not use thebe (Binder is the
way to run code), so its scripts are dropped from every page, which also keeps the page free of
its CDN address.
"""

from __future__ import annotations


def _drop_thebe(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    kept = []
    for script in scripts:
        filename = str(script)
        body = getattr(script, "attributes", {}).get("body", "")
        if "sphinx-thebe" in filename or "THEBE_JS_URL" in body or "thebe" in filename:
            continue
        kept.append(script)
    context["script_files"] = kept


def setup(app):
    app.connect("html-page-context", _drop_thebe)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
