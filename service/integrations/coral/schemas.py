"""The body Coral Talk POSTs to an external moderation phase, and what it accepts back."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PATH_PREFIX = "/v1/integrations/coral/"
# What Coral is told about a comment nobody here will decide (not stored): hold it for Coral's
# own moderators. Never an error or a 204 for such a comment: Coral publishes on either.
PREMOD_ANSWER = {"status": "PREMOD"}


def is_coral_path(path: str) -> bool:
    return path.startswith(PATH_PREFIX)


class _Wire(BaseModel):
    # Coral adds fields between releases; what we do not read is ignored.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class CoralComment(_Wire):
    # No bound of its own: the request's (64 KiB) bounds it, and a body over the site's limit
    # is answered, not refused (routes.py): Coral publishes what it gets an error for.
    body: str
    parent_id: str | None = Field(default=None, alias="parentID", max_length=200)


class CoralAuthor(_Wire):
    id: str = Field(min_length=1, max_length=200)
    role: str | None = Field(default=None, max_length=40)


class CoralStory(_Wire):
    id: str = Field(min_length=1, max_length=200)
    url: str | None = Field(default=None, max_length=2000)


class CoralSite(_Wire):
    id: str | None = Field(default=None, max_length=200)


class CoralTenant(_Wire):
    id: str | None = Field(default=None, max_length=200)
    domain: str | None = Field(default=None, max_length=500)


class ExternalModerationRequest(_Wire):
    action: Literal["NEW", "EDIT"]
    comment: CoralComment
    author: CoralAuthor
    story: CoralStory
    site: CoralSite | None = None
    tenant_id: str | None = Field(default=None, alias="tenantID", max_length=200)
    tenant_domain: str | None = Field(default=None, alias="tenantDomain", max_length=500)
    # Coral releases before 6.x sent the tenant as one object.
    tenant: CoralTenant | None = None

    @property
    def tenant_key(self) -> str:
        return self.tenant_id or (self.tenant.id if self.tenant and self.tenant.id else "")
