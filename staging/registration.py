"""registration: placeholder router, being written now."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/registration", tags=["registration"])
