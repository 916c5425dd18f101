"""HTTP endpoints of channel archives, and the channels a profile can read (to pick archive sources from)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from app.db.engine import DbSession
from app.domain.accounts.current_user import AuthRequest
from app.domain.archives import services
from app.domain.archives.deps import ArchiveSetup
from app.domain.archives.schemas import ArchiveOut, ChannelOut, CreateArchive
from app.domain.profiles import services as profiles
from app.lib.logging import log_event
from app.telegram.errors import to_app_error


class ArchivesController(Controller):
    path = "/archives"
    tags = ["archives"]

    @post("/", status_code=HTTP_201_CREATED)
    async def create(
        self,
        data: JSONBody[CreateArchive],
        request: AuthRequest,
        archive_setup: NamedDependency[ArchiveSetup],
        db_session: DbSession,
    ) -> Response[ArchiveOut]:
        """Export a channel's history as JSON Lines to a local directory or S3, once or every N minutes."""
        try:
            archive, profile = await services.create(
                db_session,
                archive_setup.commands,
                archive_setup.box,
                archive_setup.local_root,
                owner_id=request.user.id,
                data=data,
                targets=archive_setup.targets,
            )
        except ConnectionError as exc:
            raise to_app_error(exc) from None
        log_event(
            "info",
            "archives",
            "archive.created",
            f"archive of {archive.channel_title!r} to {archive.target_type}",
            user_id=request.user.id,
            profile_id=profile.id,
            context={"archive_id": str(archive.id), "every_minutes": archive.every_minutes},
        )
        # the scheduler of this process (if it runs one) is woken after commit; a worker's finds it on its tick
        return Response(services.to_out(archive, profile.phone), status_code=HTTP_201_CREATED)

    @get("/")
    async def list_archives(self, request: AuthRequest, db_session: DbSession) -> list[ArchiveOut]:
        """The caller's archives, newest first, with status and progress."""
        archives = await services.list_owned(db_session, request.user.id)
        phones = await services.phones_of(db_session, archives)
        return [services.to_out(a, phones.get(a.profile_id) if a.profile_id else None) for a in archives]

    @get("/{archive_id:uuid}")
    async def get_archive(self, archive_id: UUID, request: AuthRequest, db_session: DbSession) -> ArchiveOut:
        """Status and progress: messages and bytes exported, position, last error, next run, flood-wait pause."""
        archive = await services.get_owned(db_session, request.user.id, archive_id)
        phones = await services.phones_of(db_session, [archive])
        return services.to_out(archive, phones.get(archive.profile_id) if archive.profile_id else None)

    @delete("/{archive_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def cancel(self, archive_id: UUID, request: AuthRequest, db_session: DbSession) -> Response[None]:
        """Cancel the archive and its schedule; the files exported so far stay."""
        archive = await services.get_owned(db_session, request.user.id, archive_id)
        services.cancel(db_session, archive)
        log_event(
            "info",
            "archives",
            "archive.cancelled",
            "archive cancelled",
            user_id=request.user.id,
            context={"archive_id": str(archive.id)},
        )
        return Response(None, status_code=HTTP_204_NO_CONTENT)


class ProfileChannelsController(Controller):
    tags = ["archives"]

    @get("/profiles/{phone:str}/channels")
    async def channels(
        self, phone: str, request: AuthRequest, archive_setup: NamedDependency[ArchiveSetup], db_session: DbSession
    ) -> list[ChannelOut]:
        """Channels and groups the profile can read: id, title, username, member count, membership."""
        profile = await profiles.get_owned(db_session, request.user.id, phone)
        try:
            return await services.list_channels(archive_setup.commands, profile)
        except ConnectionError as exc:
            raise to_app_error(exc) from None
