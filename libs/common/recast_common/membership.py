"""A restarted consumer takes over the group membership its killed predecessor left behind.

A consumer killed without leaving its group (SIGKILL, OOM, a node lost) stays a member until its session expires.
On Tansu a newcomer cannot complete a join before then: the dead member is still the group's leader, so the
newcomer waits for its session to expire and then for the next rebalance (7-8 s with 3 s sessions, of which the
join itself is about 2 s). Telling the coordinator to drop the dead member (LeaveGroup with its id) is not safe
there: Tansu 0.6 keeps a removed leader as the leader of a group that is forming, and the group never forms again.

So each member of this machine records its member id in a slot file that it holds locked (flock) for as long
as its process lives. A process that starts takes a free slot: the lock was released by the kernel when the
previous holder died, so the id in it belongs to no live process of this machine. Its first JoinGroup then
carries that id: the coordinator sees the known member come back (with the same subscription: no rebalance at
all, the member's partitions are its again) instead of a stranger that must wait. When the id is no longer
known (the session expired long ago, the broker restarted), Tansu admits it as a new member and Kafka answers
UNKNOWN_MEMBER_ID, after which the client joins afresh: either way no slower than without it.

Slots are per broker (a hash of the bootstrap servers) and group, numbered so that several replicas of one
service on one machine each hold their own. The directory must outlive a process (not a machine): a temporary
directory does (on Kubernetes /tmp is an emptyDir, which survives container restarts within the pod).

The default directory is per user (recast-consumer-members-<uid> in the temporary directory), created 0700. A
directory that is a symbolic link, is not this user's or that others may write to is not used (the consumer
joins as a new member, with a warning); slot files are opened without following links and must be this user's
regular files; a recorded id is used only when it looks like a member id (MEMBER_ID, MAX_MEMBER_ID bytes at most).
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import os
import re
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiokafka import ConsumerRebalanceListener

log = logging.getLogger("recast.membership")

MAX_SLOTS = 256
UNKNOWN_MEMBER_ID = ""
MAX_MEMBER_ID = 255
# Kafka member ids are the client id, "-" and a UUID; client ids are letters, digits and ._- (Kafka's rule)
MEMBER_ID = re.compile(r"[A-Za-z0-9._:-]+")


def default_state_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"recast-consumer-members-{os.getuid()}"


def valid_member_id(text: str) -> bool:
    return 0 < len(text) <= MAX_MEMBER_ID and MEMBER_ID.fullmatch(text) is not None


class UnsafeDirectory(OSError):
    """The slot directory is not a private directory of this user."""


def _open_private_dir(directory: Path) -> int:
    """A descriptor of `directory` (created 0700 when missing): refused unless it is a real directory (not a link)
    of this user that no one else may write to."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        directory.mkdir(mode=0o700)
    except FileExistsError:
        pass
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise UnsafeDirectory(exc.errno, f"{directory} is not a directory (a symbolic link?)") from exc
        raise
    info = os.fstat(fd)
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        os.close(fd)
        raise UnsafeDirectory(errno.EPERM, f"{directory} belongs to uid {info.st_uid} (not {os.getuid()}) or others "
                                           f"may write to it (mode {stat.S_IMODE(info.st_mode):o})")
    return fd


class MemberSlot:
    """One locked slot file: `previous` is the member id its last (dead) holder recorded, if any."""

    def __init__(self, path: Path, fd: int, previous: str | None):
        self.path = path
        self._fd = fd
        self.previous = previous
        self._recorded = previous

    @classmethod
    def claim(cls, directory: Path, bootstrap: str, group: str) -> MemberSlot | None:
        """The first slot of (broker, group) that no live process holds, locked for this process; None when
        the directory cannot be used (the consumer then simply joins as a new member)."""
        broker = hashlib.sha256(bootstrap.encode()).hexdigest()[:12]
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", group)
        try:
            dir_fd = _open_private_dir(directory)
        except OSError as exc:
            log.warning("no member slot for group %s in %s: %s", group, directory, exc)
            return None
        try:
            for index in range(MAX_SLOTS):
                name_of_slot = f"{broker}-{name}-{index}.member"
                fd = os.open(name_of_slot, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                             dir_fd=dir_fd)
                try:
                    info = os.fstat(fd)
                    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
                        raise UnsafeDirectory(errno.EPERM, f"{name_of_slot} is not a file of this user")
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as exc:
                    os.close(fd)
                    if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                        continue  # a live process holds it
                    raise
                previous = os.pread(fd, MAX_MEMBER_ID + 1, 0).decode("utf-8", "replace").strip()
                if previous and not valid_member_id(previous):
                    log.warning("member slot %s holds no member id (%r): joining as a new member",
                                directory / name_of_slot, previous[:40])
                    previous = ""
                return cls(directory / name_of_slot, fd, previous or None)
        except OSError as exc:
            log.warning("no member slot for group %s in %s: %s", group, directory, exc)
            return None
        finally:
            os.close(dir_fd)
        log.warning("all %d member slots of group %s in %s are held", MAX_SLOTS, group, directory)
        return None

    def record(self, member_id: str) -> None:
        """Remember the member id this process has in the group now (for its successor)."""
        if not member_id or member_id == self._recorded:
            return
        if not valid_member_id(member_id):
            log.warning("member id %r not recorded: not shaped like one", member_id[:40])
            return
        try:
            data = member_id.encode()
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, data, 0)
            self._recorded = member_id
        except OSError as exc:
            log.warning("could not record member id in %s: %s", self.path, exc)

    def close(self) -> None:
        """Release the slot (the kernel does the same when the process dies)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class ResumingListener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Rebalance listener that makes a consumer's first JoinGroup carry the member id its slot's previous holder
    recorded, and records the member id after every assignment.

    The slot is claimed at the first join (a consumer that never starts holds none). `consumer_of()` returns the
    AIOKafkaConsumer (FastStream creates it only when the subscriber starts). aiokafka calls
    on_partitions_revoked right before it builds each JoinGroup from its coordinator's member_id, so setting that
    there (once, while it is still unknown) is what the first request carries.
    """

    def __init__(self, directory: Path, bootstrap: str, group: str, consumer_of: Callable[[], Any]):
        self.directory = directory
        self.bootstrap = bootstrap
        self.group = group
        self.consumer_of = consumer_of
        self.slot: MemberSlot | None = None
        self._first_join = True

    def _coordinator(self) -> Any:
        return getattr(self.consumer_of(), "_coordinator", None)

    async def on_partitions_revoked(self, revoked: Any) -> None:
        if not self._first_join:
            return
        self._first_join = False
        self.slot = MemberSlot.claim(self.directory, self.bootstrap, self.group)
        previous = self.slot.previous if self.slot is not None else None
        coordinator = self._coordinator()
        if previous and coordinator is not None and getattr(coordinator, "member_id", None) == UNKNOWN_MEMBER_ID:
            coordinator.member_id = previous
            log.info("group %s: joining as member %s, which a stopped process of this machine left", self.group,
                     previous)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        member_id = getattr(self._coordinator(), "member_id", None)
        if self.slot is not None and isinstance(member_id, str):
            self.slot.record(member_id)

    def close(self) -> None:
        if self.slot is not None:
            self.slot.close()
            self.slot = None
        self._first_join = True


def member_listener(settings: Any, group: str, consumer_of: Callable[[], Any]) -> ResumingListener | None:
    """The ResumingListener of a consumer of `group` (settings.consumer_member_dir; None when it is "off")."""
    where = settings.consumer_member_dir
    if where.strip().lower() == "off":
        return None
    return ResumingListener(Path(where) if where else default_state_dir(), settings.kafka_bootstrap, group,
                            consumer_of)
