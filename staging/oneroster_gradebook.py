"""oneroster_gradebook: placeholder router, being written now."""

from fastapi import APIRouter

router = APIRouter(prefix="/ims/oneroster/gradebook/v1p2", tags=["oneroster-gradebook"])
