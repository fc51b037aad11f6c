"""Every router, collected in one place."""

from fastapi import APIRouter

from api.routers import (
    auth,
    contacts,
    customers,
    dispatch,
    engineers,
    imports,
    map,
    me,
    plans,
    sites,
    skills,
    territories,
    tickets,
    users,
)

ALL_ROUTERS: list[APIRouter] = [
    auth.router,
    customers.router,
    sites.router,
    contacts.router,
    skills.router,
    engineers.router,
    territories.router,
    tickets.router,
    users.router,
    imports.router,
    map.router,
    me.router,
    plans.router,
    dispatch.router,
]
