"""MSEC's Python API under its original import name: ``from msec_impl import *``.

MSEC's dev packages put ``msec_impl.py`` beside the service's code; seed code
ported from them keeps that import line. This is the same module as
:mod:`msec.msec_impl` (spec §5.5), re-exported: one implementation, two names.
"""
from msec.msec_impl import *  # noqa: F401,F403
from msec.msec_impl import __all__ as __all__  # noqa: F401
