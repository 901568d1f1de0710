"""oneroster_rostering: placeholder router, being written now."""

from fastapi import APIRouter

router = APIRouter(prefix="/ims/oneroster/rostering/v1p2", tags=["oneroster-rostering"])
