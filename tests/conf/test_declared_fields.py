"""Meta-test: every declared XML field of every conf model is exercised by test data.

For each ``XMLBuilder`` subclass in ``pyvirt.conf``'s modules and each
``XMLProperty`` it declares, some element under ``tests/data/conf/`` with the
class's root tag must give a value for it (not None, not an empty list; true
for a presence flag). A field nobody reads from real data is a field nobody has checked.
"""

from __future__ import annotations

import importlib
import inspect
import pathlib
import pkgutil

from lxml import etree

import pyvirt.conf
from pyvirt.conf.xmlbuilder import XMLBuilder, XMLProperty

DATA = pathlib.Path(__file__).resolve().parent.parent / "data" / "conf"


def conf_models() -> list[type[XMLBuilder]]:
    found: dict[str, type[XMLBuilder]] = {}
    for info in pkgutil.walk_packages(pyvirt.conf.__path__, "pyvirt.conf."):
        module = importlib.import_module(info.name)
        for _name, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, XMLBuilder) and obj is not XMLBuilder and obj._root_name \
                    and obj.__module__.startswith("pyvirt.conf"):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[key] for key in sorted(found)]


def data_elements() -> dict[str, list[etree._Element]]:
    """Every element of every parsable test document, by tag."""
    by_tag: dict[str, list[etree._Element]] = {}
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    for path in sorted(DATA.rglob("*.xml")):
        try:
            root = etree.fromstring(path.read_bytes(), parser)
        except etree.XMLSyntaxError:
            continue
        for element in root.iter():
            if isinstance(element.tag, str):
                by_tag.setdefault(element.tag, []).append(element)
    return by_tag


def _has_value(prop: XMLProperty, value: object) -> bool:
    if prop.is_present:
        return value is True
    return value is not None and value != []


def unexercised() -> list[str]:
    """Declared properties no test element gives a value for. A property declared
    once on a base class (``Device.boot_order``) counts once: exercised when any
    model that inherits it reads a value."""
    elements = data_elements()
    owners: dict[int, str] = {}
    exercised: set[int] = set()
    for cls in conf_models():
        for name, prop in cls.declared_properties().items():
            declaring = next(k for k in cls.__mro__ if vars(k).get(name) is prop)
            owners.setdefault(id(prop), f"{declaring.__module__}.{declaring.__qualname__}."
                                        f"{name} ({prop.xpath})")
            if id(prop) in exercised:
                continue
            for element in elements.get(cls._root_name, []):
                try:
                    if _has_value(prop, getattr(cls(node=element), name)):
                        exercised.add(id(prop))
                        break
                except Exception:  # a bad value in an error-test document
                    continue
    return sorted(label for key, label in owners.items() if key not in exercised)


def test_models_were_found() -> None:
    names = {cls.__name__ for cls in conf_models()}
    assert {"DomainDef", "Disk", "Interface", "DomainSnapshotDef"} <= names


def test_every_declared_property_is_exercised_by_test_data() -> None:
    missing = unexercised()
    assert not missing, ("declared XML properties no file under tests/data/conf/ exercises:\n  "
                         + "\n  ".join(missing))
