"""XML models: parse, check, normalize and format libvirt's documents. No I/O.

- ``xmlbuilder``  declared fields over a live lxml tree (the document is the truth),
                  safe parsing, libvirt-style formatting, the unknown-XML report
- ``domain``      ``DomainDef`` (``<domain>``) and its ``<os>``, ``<cpu>``, ``<clock>``...
- ``devices``     one class per device under ``<devices>``; ``parse_device``
- ``snapshot``    ``DomainSnapshotDef`` (``<domainsnapshot>``)
- ``network``, ``storage``, ``capabilities``, ``nodeinfo``: the other documents

Import the module you need (``from pyvirt.conf.domain import DomainDef``).
"""
