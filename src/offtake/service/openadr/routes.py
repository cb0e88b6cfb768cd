"""The OpenADR 3 VTN: 3.0.1 at ``/openadr3/3.0.1`` and 3.1.0 at ``/openadr3/3.1.0``,
over the same store, plus Offtake's day-ahead publication (``/api/v1/openadr/day-ahead``).

``router`` is picked up by :func:`offtake.service.app.create_app`; its lifespan
(migrating the OpenADR tables, notifications, the schedule ticker) is merged into the
app's.
"""

from __future__ import annotations

from fastapi import APIRouter

from offtake.service.openadr import dayahead
from offtake.service.openadr.api import build_router
from offtake.service.openadr.runtime import lifespan

#: the base paths of the specifications' ``servers`` entries
BASE_PATH = "/openadr3/3.0.1"
BASE_PATH_31 = "/openadr3/3.1.0"

router = APIRouter(lifespan=lifespan)
router.include_router(build_router("3.0.1"))
router.include_router(build_router("3.1.0"))
router.include_router(dayahead.router)
