"""oauth: placeholder router, being written now."""

from fastapi import APIRouter

router = APIRouter(tags=["oauth"])
