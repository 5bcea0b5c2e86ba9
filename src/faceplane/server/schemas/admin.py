"""Bodies of the admin routes (``routes/admin.py``): logins, users, API keys, the audit log."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["AuditOut", "KeyIn", "KeyOut", "LoginIn", "MeOut", "NewKeyOut", "UserIn", "UserOut"]


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)


class MeOut(BaseModel):
    name: str
    role: str
    kind: str


class UserIn(BaseModel):
    username: str = Field(pattern=r"^[\w.@-]{1,64}$")
    password: str = Field(min_length=8, max_length=200)
    role: str = Field(pattern="^(viewer|operator|admin)$")


class UserOut(BaseModel):
    username: str
    role: str
    created_at: float


class KeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    role: str = Field(pattern="^(viewer|operator|admin)$")


class KeyOut(BaseModel):
    id: int
    name: str
    role: str
    prefix: str
    created_at: float
    revoked: bool


class NewKeyOut(BaseModel):
    key: str = Field(description="shown once; store it now")
    name: str
    role: str


class AuditOut(BaseModel):
    id: int
    ts: float
    actor: str
    role: str
    action: str
    target: str
    ip: str
    status: int
    detail: str
