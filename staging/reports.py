"""reports: placeholder router, being written now."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/reports", tags=["reports"])
