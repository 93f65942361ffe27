"""Runtime objects: what a driver holds about its domains, networks and pools.

- ``numbers``       libvirt's state/reason/event/flag numbers as typed values
- ``lifecycle``     the domain state machine: one transition table, one guard
- ``domain_obj``    DomainObj: defs (persistent/live), state, reason, id, extras
- ``domain_list``   DomainObjList: lookups, ids, virConnectListAllDomains filters
- ``snapshot_tree`` SnapshotObj / SnapshotTree: a domain's snapshots and current
- ``network_obj``, ``storage_obj``, ``named_list``: networks, pools, volumes, lists
- ``events``        EventBroker: subscriptions and ordered delivery to sinks

No I/O and no XML parsing here: definitions are conf objects the drivers own.
"""
