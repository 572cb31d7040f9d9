"""python-fuelclient 11.0.0 calls yaml.load(text) without a Loader, which
PyYAML 6 refuses. Imported at start-up by yaml_safe_load.pth, in the test
virtualenv only: yaml.load defaults to the safe loader (what that call read
is plain settings data)."""

import yaml

_load = yaml.load


def load(stream, Loader=None):
    return _load(stream, Loader=Loader or yaml.SafeLoader)


yaml.load = load
