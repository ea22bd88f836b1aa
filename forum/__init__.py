"""The forum package. Importing it installs the bounded `{x:int}` path convertor (forum/convertors.py)."""

from forum.convertors import install as _install_convertors

_install_convertors()
