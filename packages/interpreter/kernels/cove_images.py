"""Pillow images as results, as in E2B's code interpreter.

`img.save("chart.png")` also shows the image as a result (image/png), and
`img.show()` shows it as a result instead of starting an image viewer. PIL is
patched when the user's code first imports it: nothing is imported early.
"""

import importlib.abc
import importlib.util
import os
import sys


def _patch(image_module):
    from IPython.display import display

    original_save = image_module.Image.save

    def save(self, fp, format=None, **params):
        original_save(self, fp, format, **params)
        if isinstance(fp, (str, os.PathLike)):
            display(self)

    def show(self, title=None, **options):
        display(self)

    image_module.Image.save = save
    image_module.Image.show = show


class _PatchOnImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds PIL.Image through the other finders, then patches it once it has run."""

    def find_spec(self, name, path, target=None):
        if name != "PIL.Image":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                self._loader = spec.loader
                spec.loader = self
                return spec
        return None

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        try:
            _patch(module)
        finally:
            sys.meta_path[:] = [f for f in sys.meta_path if f is not self]


def install():
    if "PIL.Image" in sys.modules:
        _patch(sys.modules["PIL.Image"])
    else:
        sys.meta_path.insert(0, _PatchOnImport())
