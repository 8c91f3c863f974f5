"""mig_lib — the tested library behind *Why People Move*.

Subpackages: ``core`` (results contract, parameter validation, parameter tables, charts),
``run`` (re-running chapters and sweeps), and one package per paper, imported in its chapter as
``import mig_lib.<package> as <package>``. Each chapter page names its package in the
``chapter:`` block of its front matter; the book's introduction tabulates them.
"""

__version__ = "0.1.0"
