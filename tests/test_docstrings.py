"""Every docstring example of the package runs and shows what it says (examples marked +SKIP need artifacts)."""

import doctest
import importlib
import pkgutil

import pytest

import driftlens

MODULES = sorted(name for _, name, _ in pkgutil.walk_packages(driftlens.__path__, "driftlens.")
                 if not name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples of {name} failed (see stdout)"
