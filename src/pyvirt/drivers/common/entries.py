"""The domain entry points the stateful hypervisor drivers (QEMU, LXC) answer the same
way: define, create, undefine, autostart, the plain lifecycle calls, the simple info
calls, event registration and the autodestroy pass of connection close.

A driver mixes :class:`DomainEntries` in and says what differs as class attributes
(its libvirt function-name prefix, its error domain, the flags each entry accepts,
libvirt's wording of its messages, its ``lifecycle`` and ``state_dir`` modules) and
as hooks (how it parses a definition, how it starts a defined domain)."""

from __future__ import annotations

import functools
import logging
import uuid as uuidlib
from types import ModuleType
from typing import Any, Callable

from pyvirt.drivers.base import DomainRef
from pyvirt.drivers.common.domains import DomainTableMixin
from pyvirt.drivers.common.facts import DomainFactEntries
from pyvirt.errors import (VIR_ERR_INVALID_ARG, VIR_ERR_NO_DOMAIN, VIR_ERR_OPERATION_INVALID,
                           error, libvirtError)
from pyvirt.objects import numbers as n
from pyvirt.objects.domain_obj import DomainObj
from pyvirt.objects.numbers import DomainEvent as E
from pyvirt.security.paths import check_name


def unsupported_flags(flags: int, function: str, domain: int) -> libvirtError:
    """libvirt's error for ``flags`` that ``function`` does not know."""
    return libvirtError(f"unsupported flags (0x{flags:x}) in function {function}",
                        code=VIR_ERR_INVALID_ARG, domain=domain)


def check_flags(flags: int, allowed: int, function: str, domain: int) -> None:
    """Raise :func:`unsupported_flags` for the bits of ``flags`` not in ``allowed``."""
    if flags & ~allowed:
        raise unsupported_flags(flags & ~allowed, function, domain)


def deliver_events(method: Callable[..., Any]) -> Callable[..., Any]:
    """Deliver the events an entry point queued once its locks are released."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        finally:
            self.drv.events.flush()

    return wrapper


class DomainEntries(DomainFactEntries, DomainTableMixin):
    """Needs ``self.drv`` (``lock``, ``domains``, ``events``, ``dirs``) and
    ``self._autodestroy`` (a set of UUIDs); the class attributes below say the rest."""

    #: "qemu", "lxc": the start of libvirt's function names in "unsupported flags"
    _prefix: str
    #: the driver's ``lifecycle`` module: start, destroy, suspend, resume, lifecycle_event
    _lifecycle: ModuleType
    #: the driver's ``state_dir`` module: save_config, delete_config, set_autostart
    _state_dir: ModuleType
    _autodestroy: set[bytes]

    #: the flags each entry point accepts where the drivers differ
    _create_xml_flags = n.START_AUTODESTROY | n.START_VALIDATE
    _create_flags = n.START_AUTODESTROY
    _undefine_flags = 0
    _destroy_flags = 0
    #: libvirt's name of the create entry points after the prefix
    _create_xml_function = "DomainCreateXML"
    _create_function = "DomainCreateWithFlags"
    #: libvirt's wording (QEMU and LXC capitalise these differently)
    _msg_undefine_transient = "cannot undefine transient domain"
    _msg_autostart_transient = "cannot set autostart for transient domain"
    #: what domain_get_os_type says for a definition without one
    _default_os_type = "hvm"

    # --- hooks --------------------------------------------------------------------------
    def _parse(self, xml: str, validate: bool) -> tuple[Any, bytes, list[str]]:
        """The definition in ``xml``, its UUID as bytes and the parse warnings."""
        raise NotImplementedError

    def _start_defined(self, dom: DomainObj, flags: int) -> None:
        """Start the defined domain ``dom`` (under the lock)."""
        self._lifecycle.start(self.drv, dom, flags)

    def _before_undefine(self, dom: DomainObj, flags: int) -> None:
        """Checks and clean-up of the driver's own before ``dom``'s config goes."""

    def _undefined_still_running(self, dom: DomainObj) -> None:
        """``dom`` lost its config but runs on (it is transient now)."""

    # --- helpers ------------------------------------------------------------------------
    def _check_flags(self, flags: int, allowed: int, function: str) -> None:
        check_flags(flags, allowed, self._prefix + function, self._error_domain)

    def _dom(self, ref: DomainRef) -> DomainObj:
        dom = self.drv.domains.find_by_uuid(bytes(ref.uuid))
        if dom is None:
            raise error(VIR_ERR_NO_DOMAIN, "no domain with matching uuid "
                        f"'{uuidlib.UUID(bytes=bytes(ref.uuid))}' ({ref.name})",
                        domain=self._error_domain)
        return dom

    def _note_autodestroy(self, dom: DomainObj, flags: int) -> None:
        if flags & n.START_AUTODESTROY:
            self._autodestroy.add(dom.uuid)

    def _add_and_start(self, name: str, uuid: bytes,
                       start: Callable[[DomainObj], None]) -> DomainObj:
        """``start(dom)`` for the domain ``name``/``uuid`` (a new object unless an inactive
        one matches), under the lock; a new object is dropped again when it fails."""
        dom = self._check_duplicates(name, uuid, live=True)
        added = dom is None
        if added:
            dom = self.drv.domains.add(DomainObj(name=name, uuid=uuid))
        try:
            start(dom)
        except Exception:
            if added:
                self.drv.domains.remove(dom)
            raise
        return dom

    def _parse_new(self, xml: str, validate: bool) -> tuple[Any, str, bytes, list[str]]:
        """Parse a definition to define or create: also its name, checked for use
        in file and socket names."""
        ddef, uuid, warnings = self._parse(xml, validate)
        name = ddef.name.strip()
        check_name("domain", name)
        return ddef, name, uuid, warnings

    # --- connection ---------------------------------------------------------------------
    def connect_close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.drv.events.deregister_owner(self)
        with self.drv.lock:
            for uuid in self._autodestroy:
                dom = self.drv.domains.find_by_uuid(uuid)
                if dom is not None and dom.active:
                    try:
                        self._lifecycle.destroy(self.drv, dom)
                    except libvirtError as err:
                        # logged under the driver's module, as before it was shared
                        logging.getLogger(type(self).__module__).error(
                            "autodestroy of '%s' failed: %s", dom.name,
                            err.get_error_message())
        self.drv.events.flush()

    # --- definition ---------------------------------------------------------------------
    @deliver_events
    def domain_define_xml_flags(self, xml: str, flags: int = 0) -> DomainRef:
        self._check_flags(flags, n.DEFINE_VALIDATE, "DomainDefineXMLFlags")
        ddef, name, uuid, warnings = self._parse_new(xml, bool(flags & n.DEFINE_VALIDATE))
        with self.drv.lock:
            dom = self._check_duplicates(name, uuid, live=False)
            self._state_dir.save_config(self.drv.dirs, name, ddef.to_xml(inactive=True))
            if dom is None:
                dom = self.drv.domains.add(DomainObj(name=name, uuid=uuid, persistent_def=ddef))
                detail = n.DEFINED_ADDED
            else:
                detail = n.DEFINED_UPDATED
                dom.persistent_def = ddef
            dom.messages = warnings
            self._lifecycle.lifecycle_event(self.drv, dom, E.DEFINED, detail)
            return self._ref(dom)

    def domain_define_xml(self, xml: str) -> DomainRef:
        return self.domain_define_xml_flags(xml, 0)

    @deliver_events
    def domain_create_xml(self, xml: str, flags: int = 0) -> DomainRef:
        self._check_flags(flags, self._create_xml_flags, self._create_xml_function)
        ddef, name, uuid, warnings = self._parse_new(xml, bool(flags & n.START_VALIDATE))
        with self.drv.lock:
            dom = self._add_and_start(
                name, uuid, lambda dom: self._lifecycle.start(self.drv, dom, flags, live=ddef))
            dom.messages = warnings
            self._note_autodestroy(dom, flags)
            return self._ref(dom)

    @deliver_events
    def domain_undefine_flags(self, ref: DomainRef, flags: int = 0) -> None:
        self._check_flags(flags, self._undefine_flags, "DomainUndefineFlags")
        with self.drv.lock:
            dom = self._dom(ref)
            if not dom.persistent:
                raise error(VIR_ERR_OPERATION_INVALID, self._msg_undefine_transient,
                            domain=self._error_domain)
            self._before_undefine(dom, flags)
            self._state_dir.delete_config(self.drv.dirs, dom.name)
            self._lifecycle.lifecycle_event(self.drv, dom, E.UNDEFINED, n.UNDEFINED_REMOVED)
            dom.persistent_def = None
            dom.autostart = False
            if not dom.active:
                self.drv.domains.remove(dom)
            else:
                self._undefined_still_running(dom)

    def domain_undefine(self, ref: DomainRef) -> None:
        self.domain_undefine_flags(ref, 0)

    def domain_get_xml_desc(self, ref: DomainRef, flags: int = 0) -> str:
        self._check_flags(flags, n.XML_SECURE | n.XML_INACTIVE | n.XML_UPDATE_CPU
                          | n.XML_MIGRATABLE, "DomainGetXMLDesc")
        with self.drv.lock:
            dom = self._dom(ref)
            secure = bool(flags & n.XML_SECURE)
            if flags & n.XML_INACTIVE and dom.persistent:
                return dom.persistent_def.to_xml(secure=secure, inactive=True)
            return dom.current_def.to_xml(secure=secure, inactive=not dom.active)

    def domain_set_autostart(self, ref: DomainRef, autostart: bool) -> None:
        with self.drv.lock:
            dom = self._dom(ref)
            if not dom.persistent:
                raise error(VIR_ERR_OPERATION_INVALID, self._msg_autostart_transient,
                            domain=self._error_domain)
            self._state_dir.set_autostart(self.drv.dirs, dom.name, bool(autostart))
            dom.autostart = bool(autostart)

    # --- lifecycle ----------------------------------------------------------------------
    @deliver_events
    def domain_create_with_flags(self, ref: DomainRef, flags: int = 0) -> DomainRef:
        self._check_flags(flags, self._create_flags, self._create_function)
        with self.drv.lock:
            dom = self._dom(ref)
            self._start_defined(dom, flags)
            self._note_autodestroy(dom, flags)
            return self._ref(dom)

    def domain_create(self, ref: DomainRef) -> DomainRef:
        return self.domain_create_with_flags(ref, 0)

    @deliver_events
    def domain_destroy_flags(self, ref: DomainRef, flags: int = 0) -> None:
        self._check_flags(flags, self._destroy_flags, "DomainDestroyFlags")
        with self.drv.lock:
            self._lifecycle.destroy(self.drv, self._dom(ref), flags)

    def domain_destroy(self, ref: DomainRef) -> None:
        self.domain_destroy_flags(ref, 0)

    def domain_shutdown(self, ref: DomainRef) -> None:
        self.domain_shutdown_flags(ref, 0)

    @deliver_events
    def domain_suspend(self, ref: DomainRef) -> None:
        with self.drv.lock:
            self._lifecycle.suspend(self.drv, self._dom(ref))

    @deliver_events
    def domain_resume(self, ref: DomainRef) -> None:
        with self.drv.lock:
            self._lifecycle.resume(self.drv, self._dom(ref))

    # --- info ---------------------------------------------------------------------------
    def domain_get_id(self, ref: DomainRef) -> int:
        dom = self._dom(ref)
        return dom.id if dom.active else -1

    def domain_get_state(self, ref: DomainRef, flags: int = 0) -> list[int]:
        self._check_flags(flags, 0, "DomainGetState")
        dom = self._dom(ref)
        return [int(dom.state), int(dom.reason)]

    def domain_get_os_type(self, ref: DomainRef) -> str:
        return self._dom(ref).current_def.os_type or self._default_os_type

    def domain_get_max_memory(self, ref: DomainRef) -> int:
        return self._dom(ref).current_def.memory_kib or 0

    # --- events -------------------------------------------------------------------------
    def connect_domain_event_register_any(self, event_id: int, ref: DomainRef | None,
                                          sink: Callable[..., None]) -> int:
        uuid = None if ref is None else self._dom(ref).uuid
        return self.drv.events.register(event_id, uuid, sink, self)

    def connect_domain_event_deregister_any(self, callback_id: int) -> None:
        if not self.drv.events.deregister(callback_id, self):
            raise error(VIR_ERR_INVALID_ARG,
                        f"could not find event callback {callback_id} for deletion",
                        domain=self._error_domain)
