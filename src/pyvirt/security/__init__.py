"""Guest confinement on the host: DAC labelling of a domain's files and the audit log.

``seclabel``  the domain's ``<seclabel>`` (pure);
``dac``       which files a domain's identity gets, rw or ro (pure planning);
``acl``       POSIX ACL xattrs (read-only grants for shared images);
``state``     the record of original owners and users, written atomically;
``labeller``  the I/O edge: label before start, restore after stop;
``audit``     one JSON line per mutating call.
"""
