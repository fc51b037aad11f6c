"""Account schemas."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from crm.models.enums import Role
from crm.schemas.common import Strict


class UserCreate(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "username": "wang.lei",
                    "password": "a long passphrase",
                    "role": "engineer",
                    "engineer_id": 7,
                }
            ]
        }
    )
    username: str = Field(min_length=2, max_length=100, pattern=r"^[A-Za-z0-9_.@\-]+$")
    password: str = Field(min_length=8, max_length=200)
    role: Role
    engineer_id: int | None = None


class UserUpdate(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"active": False}]})
    password: str | None = Field(default=None, min_length=8, max_length=200)
    role: Role | None = None
    active: bool | None = None
    engineer_id: int | None = None


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    role: Role
    engineer_id: int | None
    active: bool
    created_at: datetime
    version: int


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: Role
