"""portal: placeholder router, being written now."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/portal", tags=["portal"])
