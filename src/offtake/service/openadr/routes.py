"""The OpenADR 3.0.1 VTN interface, mounted at :data:`BASE_PATH`.

``router`` is picked up by :func:`offtake.service.app.create_app`; its lifespan
(migrating the OpenADR tables, watching setpoints for webhook notifications) is merged
into the app's.
"""

from __future__ import annotations

from fastapi import APIRouter

from offtake.service.openadr import auth, objects, reports
from offtake.service.openadr.runtime import lifespan

#: the base path of the specification's ``servers`` entry
BASE_PATH = "/openadr3/3.0.1"

router = APIRouter(prefix=BASE_PATH, lifespan=lifespan)
router.include_router(auth.router)
router.include_router(objects.router)
router.include_router(reports.router)
