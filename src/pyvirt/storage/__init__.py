"""Storage pool backends on real hosts: dir, fs, netfs, logical, and their tools.

Layout (one job per module):

* ``commands``  run a host tool, libvirt's error when it fails or is missing
* ``qemu_img``  argv builders for ``qemu-img`` (pure) and its ``--output=json`` parser
* ``volfile``   what a volume file is (format, sizes, backing, permissions, times)
* ``fileops``   byte work on volume files: create raw, sparse copy, wipe, upload, download
* ``mounts``    ``/proc/mounts`` and ``/proc/filesystems``, mount/umount/mkfs argv
* ``lvm``       LVM argv builders and ``--reportformat json`` parsing (pure)
* ``backend``   the :class:`PoolBackend` interface and the backend registry
* ``dir`` / ``fs`` / ``netfs`` / ``logical``  the backends

The storage driver (``pyvirt.drivers.storage``) owns pool and volume objects
and calls a backend for everything that touches the host.
"""
